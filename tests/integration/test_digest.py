"""API keys over HTTP Digest, against real Digest servers on loopback: the simulator's (as Atlas
speaks it) and httpbin's independent implementation, served by werkzeug in a thread.

What is measured is what the server saw: every request in its log, with the nonce count each
carried, so "one request per revocation" is counted, not assumed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner.api.auth import ApiKeyAuth
from runner.api.transport import Transport, recording
from runner.app import execute
from runner.config import ApiKey, RunRequest, ServiceAccount, credentials_from
from runner.errors import CredentialsError, StopRun
from runner.events import NullObserver
from runner.model import RunRecord
from runner.simulator import Simulator, SimulatorConfig
from runner.simulator.data import BULK_FED, bulk_idp_ids

pytestmark = pytest.mark.anyio


def write_plan(tmp_path: Path, count: int) -> str:
    lines = ["version: 1", "targets:", f"  - federationSettingsId: {BULK_FED}"]
    lines += ["    identityProviderIds:", *(f"      - {i}" for i in bulk_idp_ids(count))]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def run_with_key(
    sim: Simulator,
    tmp_path: Path,
    count: int,
    *,
    private_key: str | None = None,
    concurrency: int = 8,
) -> tuple[RunRecord, dict[str, Any]]:
    env = {
        "MONGODB_ATLAS_BASE_URL": sim.url,
        "MONGODB_ATLAS_PUBLIC_API_KEY": sim.credentials.public_key,
        "MONGODB_ATLAS_PRIVATE_API_KEY": private_key or sim.credentials.private_key,
    }
    req = RunRequest(
        plan_path=write_plan(tmp_path, count),
        report_path=str(tmp_path / "report.json"),
        overrides={"rate": 0, "concurrency": concurrency, "max_attempts": 3, "timeout": 10},
        assume_yes=True,
    )
    with anyio.fail_after(30):
        record = await execute(req, env=env, observer=NullObserver(), handle_signals=False)
    return record, record.to_report()


def history_sends(report: dict[str, Any]) -> int:
    return sum(len(t["history"]) for t in report["targets"])


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_one_request_per_revocation_at_concurrency_8(
    make_simulator: Any, tmp_path: Path, algorithm: str
) -> None:
    sim = await make_simulator(SimulatorConfig(seed=1, digest_algorithm=algorithm, bulk_size=500))
    record, report = await run_with_key(sim, tmp_path, 200)

    assert record.exit_code == 0, report["aborted"]
    assert report["summary"]["revoked"] == 200
    sent = sim.requests("revoke")
    # The contract's bound is 200 + 8 + 2; only the challenge fetch is extra.
    assert len(sent) <= 200 + 8 + 2
    assert len(sent) == 201, Counter(r.status for r in sent)
    assert [r.auth for r in sent].count("none") == 1, "one unauthenticated request fetches it"
    assert sum(sim.revocations(BULK_FED, i) for i in bulk_idp_ids(200)) == 200
    # The report's history counts every send the server saw, the challenge included.
    assert history_sends(report) == len(sent)
    # Nonce counts: one nonce, counts 1..200, each once.
    signed = [r for r in sent if r.auth == "digest"]
    assert len({r.nonce for r in signed}) == 1
    assert sorted(r.nc for r in signed if r.nc is not None) == list(range(1, 201))
    assert sim.digest.nonces_issued == 1


async def test_nonce_counts_rise_in_arrival_order_one_worker(
    make_simulator: Any, tmp_path: Path
) -> None:
    # With one worker, signing order is arrival order: the server sees 1, 2, 3, ... exactly.
    sim = await make_simulator(SimulatorConfig(seed=1, digest_nc_window=0, bulk_size=100))
    record, _ = await run_with_key(sim, tmp_path, 20, concurrency=1)
    assert record.exit_code == 0
    ncs = [r.nc for r in sim.requests("revoke") if r.auth == "digest"]
    assert ncs == list(range(1, 21))


async def test_stale_nonces_are_answered_transparently(make_simulator: Any, tmp_path: Path) -> None:
    # Each nonce serves 15 requests, then the server answers stale=true with a new one.
    sim = await make_simulator(
        SimulatorConfig(seed=1, nonce_max_uses=15, digest_algorithm="SHA-256", bulk_size=500)
    )
    record, report = await run_with_key(sim, tmp_path, 120)

    assert record.exit_code == 0, report["aborted"]
    assert report["aborted"] is None
    assert report["summary"]["revoked"] == 120
    sent = sim.requests("revoke")
    refused = [r for r in sent if r.status == 401]
    generations = len({r.nonce for r in sent if r.status == 204})
    assert generations >= 120 // 15, "nonces went stale and were replaced"
    # Every 401 but the first challenge was a stale nonce, answered by one re-send each; an
    # expiry costs at most one 401 per request in flight (8), however many workers saw it.
    assert len(sent) == 120 + len(refused)
    assert len(refused) - 1 <= 8 * (generations - 1)
    assert history_sends(report) == len(sent)
    assert all(sim.revocations(BULK_FED, i) == 1 for i in bulk_idp_ids(120))


async def test_expired_nonces_mid_run_are_recovered(make_simulator: Any, tmp_path: Path) -> None:
    sim = await make_simulator(SimulatorConfig(seed=1, latency_ms=2, bulk_size=500))
    done = anyio.Event()

    async def expire_twice() -> None:
        for _ in range(2):
            while len(sim.requests("revoke")) < 30:
                await anyio.sleep(0.005)
            sim.expire_nonces()
            await anyio.sleep(0.05)
        done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(expire_twice)
        record, report = await run_with_key(sim, tmp_path, 150)
    assert done.is_set()
    assert record.exit_code == 0, report["aborted"]
    assert report["summary"]["revoked"] == 150
    stale = [r for r in sim.requests("revoke") if r.status == 401 and r.auth == "digest"]
    assert stale, "the expiry was felt"


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_wrong_keys_stop_the_run_after_few_requests(
    make_simulator: Any, tmp_path: Path, concurrency: int
) -> None:
    sim = await make_simulator(SimulatorConfig(seed=1, bulk_size=500))
    record, report = await run_with_key(
        sim, tmp_path, 60, private_key="wrong-private-key", concurrency=concurrency
    )

    assert record.exit_code == 3
    assert report["aborted"]["reason"] == "unauthorized"
    sent = sim.requests("revoke")
    assert len(sent) <= concurrency + 1
    # Measured: the challenge, then the one signed request that the server refused.
    assert len(sent) == 2
    assert sim.total_revocations == 0
    assert report["summary"]["revoked"] == 0
    failed_401 = [t for t in report["targets"] if t["httpStatus"] == 401]
    assert len(failed_401) == 1
    # The others never left: no history, no status (workers that had already taken a target
    # when the keys were refused are stopped before sending).
    others = [t for t in report["targets"] if t["httpStatus"] != 401]
    assert all(t["history"] == [] and t["outcome"] != "revoked" for t in others)
    assert history_sends(report) == len(sent)


async def test_keys_refused_mid_run_stop_within_the_requests_in_flight(
    make_simulator: Any, tmp_path: Path
) -> None:
    # The keys work, then are refused (rotated away) while 8 requests are in flight: each of
    # those may still get its 401, but nothing else is sent.
    sim = await make_simulator(SimulatorConfig(seed=1, latency_ms=5, bulk_size=500))
    good = sim.credentials.private_key

    async def revoke_keys() -> None:
        while len(sim.requests("revoke")) < 40:
            await anyio.sleep(0.002)
        sim.digest._private_key = "rotated"  # the simulator's own state: the key is gone

    async with anyio.create_task_group() as tg:
        tg.start_soon(revoke_keys)
        record, report = await run_with_key(sim, tmp_path, 300, private_key=good)
    assert record.exit_code == 3
    assert report["aborted"]["reason"] == "unauthorized"
    sent = sim.requests("revoke")
    refused = [r for r in sent if r.status == 401 and r.auth == "digest"]
    assert 1 <= len(refused) <= 8 + 1
    first_refusal = next(i for i, r in enumerate(sent) if r.status == 401 and r.auth == "digest")
    assert len(sent) - first_refusal <= 8 + 1
    assert history_sends(report) == len(sent)


# ---- credentials from the environment ---------------------------------------------------------


def test_both_spellings_of_the_api_key_variables() -> None:
    new = credentials_from(
        {"MONGODB_ATLAS_PUBLIC_API_KEY": "pub", "MONGODB_ATLAS_PRIVATE_API_KEY": "priv"}
    )
    old = credentials_from({"MONGODB_ATLAS_PUBLIC_KEY": "pub", "MONGODB_ATLAS_PRIVATE_KEY": "priv"})
    assert new == old == ApiKey("pub", "priv")
    assert "priv" not in repr(new)


def test_service_account_wins_over_an_api_key() -> None:
    creds = credentials_from(
        {
            "MONGODB_ATLAS_CLIENT_ID": "id",
            "MONGODB_ATLAS_CLIENT_SECRET": "secret",
            "MONGODB_ATLAS_PUBLIC_API_KEY": "pub",
            "MONGODB_ATLAS_PRIVATE_API_KEY": "priv",
        }
    )
    assert creds == ServiceAccount("id", "secret")
    assert "secret" not in repr(creds)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, ["MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_PUBLIC_API_KEY"]),
        ({"MONGODB_ATLAS_PUBLIC_API_KEY": "p"}, ["MONGODB_ATLAS_PRIVATE_API_KEY"]),
        ({"MONGODB_ATLAS_PRIVATE_KEY": "p"}, ["MONGODB_ATLAS_PUBLIC_API_KEY"]),
        ({"MONGODB_ATLAS_CLIENT_SECRET": "s"}, ["MONGODB_ATLAS_CLIENT_ID"]),
        (
            {
                "MONGODB_ATLAS_CLIENT_ID": "i",
                "MONGODB_ATLAS_PUBLIC_API_KEY": "p",
                "MONGODB_ATLAS_PRIVATE_API_KEY": "q",
            },
            ["MONGODB_ATLAS_CLIENT_SECRET"],
        ),
    ],
)
def test_missing_credentials_are_named(env: dict[str, str], named: list[str]) -> None:
    with pytest.raises(CredentialsError) as err:
        credentials_from(env)
    for name in named:
        assert name in str(err.value)
    for value in env.values():
        assert f"={value}" not in str(err.value)


def test_no_credentials_exit_2_before_any_request(sim_thread: Simulator, tmp_path: Path) -> None:
    import io

    from runner.cli import main

    err = io.StringIO()
    code = main(
        ["run", write_plan(tmp_path, 3), "--yes", "--report", str(tmp_path / "r.json")],
        env={"MONGODB_ATLAS_BASE_URL": sim_thread.url},
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2
    assert "MONGODB_ATLAS_PUBLIC_API_KEY" in err.getvalue()
    assert "MONGODB_ATLAS_CLIENT_ID" in err.getvalue()
    assert sim_thread.stats()["requests"] == 0
    assert not (tmp_path / "r.json").exists()


# ---- httpbin: an independent Digest implementation ------------------------------------------


@pytest.fixture(scope="module")
def httpbin_url() -> Iterator[str]:
    from httpbin import app  # type: ignore[import-untyped]
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


async def httpbin_calls(url: str, auth: ApiKeyAuth, calls: int, workers: int) -> list[int]:
    statuses: list[int] = []
    async with Transport(pool_size=workers, timeout=10, middlewares=auth.middlewares) as t:

        async def worker(n: int) -> None:
            for _ in range(n):
                statuses.append((await t.request("GET", url)).status)

        with recording() as log:
            async with anyio.create_task_group() as tg:
                for _ in range(workers):
                    tg.start_soon(worker, calls // workers)
    # Every send the server answered, as the transport counted it.
    statuses.insert(0, len(log.sends))
    return statuses


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_httpbin_digest(httpbin_url: str, algorithm: str) -> None:
    url = f"{httpbin_url}/digest-auth/auth/user/passwd/{algorithm}"
    auth = ApiKeyAuth("user", "passwd")
    sends, *statuses = await httpbin_calls(url, auth, 40, 8)
    assert statuses == [200] * 40
    assert sends == 40 + 1, "one challenge, then one send per call"
    assert auth.digest.challenges_adopted == 1


async def test_httpbin_wrong_password(httpbin_url: str) -> None:
    url = f"{httpbin_url}/digest-auth/auth/user/passwd/MD5"
    auth = ApiKeyAuth("user", "not-the-password")
    sends, *statuses = await httpbin_calls(url, auth, 1, 1)
    assert statuses == [401]
    assert sends == 2
    assert auth.digest.refused
    assert await auth.unauthorized(None) is False
    with pytest.raises(StopRun):
        await auth.authorize()
    # A request already past authorize() is stopped by the middleware before it is sent.
    async with Transport(pool_size=1, timeout=10, middlewares=auth.middlewares) as t:
        with recording() as log, pytest.raises(StopRun):
            await t.request("GET", url)
    assert log.sends == []
