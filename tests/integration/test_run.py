"""End-to-end runs of the library API against the simulator on loopback: every answer Atlas (or
a proxy in front of it) can give, and what the report says about it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.app import execute
from runner.config import RunRequest
from runner.events import NullObserver
from runner.model import RunRecord
from runner.simulator import Simulator, SimulatorConfig
from runner.simulator.data import bulk_idp_ids

pytestmark = pytest.mark.anyio

FED = "9b5557f69e559786e0a6b5ee"  # the simulator's bulk federation: any count of OIDC IdPs


def write_plan(tmp_path: Path, idps: list[str], settings: str = "") -> str:
    lines = ["version: 1"]
    if settings:
        lines += ["settings:", *(f"  {s}" for s in settings.split(";"))]
    lines += ["targets:", f"  - federationSettingsId: {FED}", "    identityProviderIds:"]
    lines += [f"      - {i}" for i in idps]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


class Recorder(NullObserver):
    def __init__(self) -> None:
        self.pauses: list[tuple[float, str]] = []
        self.rates: list[float] = []

    def paused(self, until: float, reason: str) -> None:
        self.pauses.append((until, reason))

    def rate_changed(self, rate: float) -> None:
        self.rates.append(rate)


async def run(
    sim: Simulator,
    tmp_path: Path,
    idps: list[str],
    validate_report: Callable[[dict[str, Any]], None],
    *,
    observer: NullObserver | None = None,
    **overrides: Any,
) -> tuple[RunRecord, dict[str, Any]]:
    settings = {"rate": 0, "concurrency": 8, "max_attempts": 5, "timeout": 5}
    settings.update(overrides)
    req = RunRequest(
        plan_path=write_plan(tmp_path, idps),
        report_path=str(tmp_path / "report.json"),
        overrides=settings,
        assume_yes=True,
    )
    record = await execute(
        req, env=sim.env(), observer=observer or NullObserver(), handle_signals=False
    )
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    assert report["exitCode"] == record.exit_code
    return record, report


def by_idp(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["identityProviderId"]: t for t in report["targets"]}


async def test_every_target_revoked_once_in_plan_order(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(40)
    record, report = await run(simulator, tmp_path, idps, validate_report)
    assert record.exit_code == 0
    assert [t["identityProviderId"] for t in report["targets"]] == idps
    assert report["summary"] == {
        "total": 40, "revoked": 40, "failed": 0, "skipped": 0, "notAttempted": 0, "wouldRevoke": 0
    }  # fmt: skip
    assert all(t["attempts"] == 1 and t["httpStatus"] == 204 for t in report["targets"])
    assert all(simulator.revocations(FED, i) == 1 for i in idps)
    assert report["aborted"] is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_until_success(
    simulator: Simulator,
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
    status: int,
) -> None:
    idps = bulk_idp_ids(3)
    simulator.script(status, status, fed=FED, idp=idps[1])
    record, report = await run(simulator, tmp_path, idps, validate_report)
    assert record.exit_code == 0
    t = by_idp(report)[idps[1]]
    assert t["outcome"] == "revoked"
    assert [h.get("httpStatus") for h in t["history"]] == [status, status, 204]
    assert t["attempts"] == 3
    assert simulator.revocations(FED, idps[1]) == 1


async def test_retries_are_bounded_by_max_attempts(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(2)
    simulator.script(*([503] * 10), fed=FED, idp=idps[0])
    record, report = await run(simulator, tmp_path, idps, validate_report, max_attempts=3)
    assert record.exit_code == 1
    t = by_idp(report)[idps[0]]
    assert t["outcome"] == "failed" and t["httpStatus"] == 503 and t["attempts"] == 3
    assert by_idp(report)[idps[1]]["outcome"] == "revoked"


async def test_429_with_retry_after_pauses_the_whole_pool(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(30)
    # The first revoke request, whichever it is, is told to come back in 1 s.
    simulator.script({"status": 429, "retryAfter": 1})
    recorder = Recorder()
    record, report = await run(
        simulator, tmp_path, idps, validate_report, observer=recorder, rate=20
    )
    assert record.exit_code == 0
    deletes = simulator.requests("revoke")
    throttled = [r for r in deletes if r.status == 429]
    assert len(throttled) == 1
    pause_start = throttled[0].mono
    # No request starts during the pause (a small allowance for a send already on the wire
    # when the 429 arrived: the pacer at 20/s sends at most one per 50 ms).
    during = [r for r in deletes if pause_start + 0.06 < r.mono < pause_start + 0.98]
    assert during == [], [round(r.mono - pause_start, 3) for r in during]
    assert len(recorder.pauses) == 1
    retried = [t for t in report["targets"] if t["attempts"] == 2]
    assert len(retried) == 1 and retried[0]["history"][0]["httpStatus"] == 429
    assert retried[0]["history"][0]["errorCode"] == "RATE_LIMITED_TOKEN_BUCKET"


async def test_429_with_only_body_parameters_pauses_and_lowers_the_rate(
    make_simulator: Callable[..., Any],
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
) -> None:
    sim = await make_simulator(
        SimulatorConfig(seed=1, throttle=20, capacity=5, retry_after_header=False)
    )
    recorder = Recorder()
    record, report = await run(sim, tmp_path, bulk_idp_ids(40), validate_report, observer=recorder)
    assert record.exit_code == 0
    throttled = [r for r in sim.requests("revoke") if r.status == 429]
    assert throttled, "the bucket should have been emptied by an unlimited client"
    assert recorder.pauses, "a body-only retryAfterSeconds must pause the pool too"
    assert report["settings"]["rate"] == 0
    assert report["settings"]["effectiveRate"] == pytest.approx(20)
    assert recorder.rates == [pytest.approx(20)]
    assert report["summary"]["revoked"] == 40


async def test_connection_reset_is_retried(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(2)
    simulator.script("reset", fed=FED, idp=idps[0])
    _, report = await run(simulator, tmp_path, idps, validate_report)
    t = by_idp(report)[idps[0]]
    assert t["outcome"] == "revoked"
    # Every request the server could have received counts, aiohttp's own re-send included.
    errors = [h for h in t["history"] if "error" in h]
    assert errors and all(h["error"] == "connection" for h in errors)
    assert t["history"][-1]["httpStatus"] == 204
    assert t["attempts"] == len(simulator.requests("revoke", idp=idps[0]))


async def test_timeout_is_retried(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(2)
    simulator.script({"kind": "hang", "seconds": 10}, fed=FED, idp=idps[0])
    _, report = await run(simulator, tmp_path, idps, validate_report, timeout=0.5)
    t = by_idp(report)[idps[0]]
    assert t["outcome"] == "revoked"
    assert t["history"][0]["error"] == "timeout"
    assert t["history"][-1]["httpStatus"] == 204


@pytest.mark.parametrize(
    ("fault", "status", "detail_has"),
    [("html:502", 502, "HTML"), ("empty:503", 503, None)],
)
async def test_html_and_empty_error_bodies(
    simulator: Simulator,
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
    fault: str,
    status: int,
    detail_has: str | None,
) -> None:
    idps = bulk_idp_ids(1)
    simulator.script(*([fault] * 5), fed=FED, idp=idps[0])
    record, report = await run(simulator, tmp_path, idps, validate_report, max_attempts=2)
    t = report["targets"][0]
    assert t["outcome"] == "failed" and t["httpStatus"] == status and t["attempts"] == 2
    assert t["errorCode"] is None
    if detail_has:
        assert detail_has in t["detail"]
    else:
        assert t["detail"] is None
    assert record.exit_code == 1


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_client_errors_fail_that_target_alone_after_one_attempt(
    simulator: Simulator,
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
    status: int,
) -> None:
    idps = bulk_idp_ids(5)
    simulator.script(status, fed=FED, idp=idps[2])
    record, report = await run(simulator, tmp_path, idps, validate_report)
    assert record.exit_code == 1
    t = by_idp(report)[idps[2]]
    assert t["outcome"] == "failed" and t["httpStatus"] == status and t["attempts"] == 1
    assert t["errorCode"] and t["detail"]
    assert report["summary"]["revoked"] == 4 and report["aborted"] is None


async def test_401_renews_the_token_once_then_stops_the_run(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(50)
    # First request: a 401 (the token is renewed and the request repeated), then a second 401
    # to the fresh token: the credentials are refused and the run stops.
    simulator.script(401, 401)
    record, report = await run(simulator, tmp_path, idps, validate_report, concurrency=1)
    assert record.exit_code == 3
    assert report["aborted"]["reason"] == "unauthorized"
    first = report["targets"][0]
    assert first["outcome"] == "failed" and first["httpStatus"] == 401
    assert [h["httpStatus"] for h in first["history"]] == [401, 401]
    assert len(simulator.requests("token")) == 2
    assert all(t["outcome"] == "not_attempted" for t in report["targets"][1:])
    assert report["summary"]["notAttempted"] == 49


async def test_expired_token_is_renewed_and_the_run_goes_on(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    idps = bulk_idp_ids(3)
    simulator.script(401, fed=FED, idp=idps[1])
    record, report = await run(simulator, tmp_path, idps, validate_report, concurrency=1)
    assert record.exit_code == 0
    assert [h["httpStatus"] for h in by_idp(report)[idps[1]]["history"]] == [401, 204]
    assert len(simulator.requests("token")) == 2


@pytest.mark.parametrize("status", [406, 410])
async def test_api_version_refused_stops_the_run(
    simulator: Simulator,
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
    status: int,
) -> None:
    idps = bulk_idp_ids(20)
    simulator.script(status)
    record, report = await run(simulator, tmp_path, idps, validate_report, concurrency=1)
    assert record.exit_code == 3
    assert report["aborted"]["reason"] == "api_version"
    assert report["targets"][0]["outcome"] == "failed"
    assert report["targets"][0]["httpStatus"] == status
    assert report["summary"]["notAttempted"] == 19


async def test_unknown_api_version_is_refused_by_atlas_406(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    record, report = await run(
        simulator, tmp_path, bulk_idp_ids(5), validate_report, concurrency=1,
        api_version="2099-01-01",
    )  # fmt: skip
    assert record.exit_code == 3 and report["aborted"]["reason"] == "api_version"
    assert report["settings"]["apiVersion"] == "2099-01-01"


async def test_64_workers_share_exactly_one_token(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    record, report = await run(
        simulator, tmp_path, bulk_idp_ids(300), validate_report, concurrency=64
    )
    assert record.exit_code == 0
    assert len(simulator.requests("token")) == 1
    assert report["summary"]["revoked"] == 300


async def test_client_rate_paces_requests(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    record, _ = await run(simulator, tmp_path, bulk_idp_ids(21), validate_report, rate=20)
    starts = sorted(r.mono for r in simulator.requests("revoke"))
    # 21 starts at 20/s, burst 1: the first at once, the last 1 s later (generous bounds).
    assert 0.9 <= starts[-1] - starts[0] <= 2.5
    assert record.exit_code == 0


async def test_discovery_targets_and_explicit_duplicates_are_revoked_once(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    from runner.simulator.data import LARGE_FED

    explicit = _first_oidc(LARGE_FED)  # an IdP that discovery will find again
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\ntargets:\n"
        f"  - federationSettingsId: {LARGE_FED}\n    identityProviderId: {explicit}\n"
        "    label: first\n"
        f"  - federationSettingsId: {LARGE_FED}\n    identityProviders: all\n"
    )
    req = RunRequest(
        plan_path=str(plan),
        report_path=str(tmp_path / "r.json"),
        overrides={"rate": 0, "concurrency": 16},
        assume_yes=True,
    )
    record = await execute(req, env=simulator.env(), observer=NullObserver(), handle_signals=False)
    report = json.loads((tmp_path / "r.json").read_text())
    validate_report(report)
    ids = [t["identityProviderId"] for t in report["targets"]]
    assert ids[0] == explicit and report["targets"][0]["label"] == "first"
    assert len(ids) == len(set(ids)) == 1200  # the large federation's OIDC IdPs, SAML left out
    assert simulator.revocations(LARGE_FED, explicit) == 1
    assert record.exit_code == 0


def _first_oidc(fed: str) -> str:
    from runner.simulator.data import build_dataset

    federation = build_dataset(bulk_size=10)[fed]
    found, _ = federation.page(frozenset({"OIDC"}), frozenset({"WORKFORCE", "WORKLOAD"}), 7, 1)
    return found[0].id


async def test_token_is_renewed_before_it_expires(
    make_simulator: Callable[..., Any],
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
) -> None:
    # A 2 s token is renewed when 0.2 s (10%) remain: a 3 s run needs exactly two, and no
    # request is ever refused for an expired token.
    sim = await make_simulator(SimulatorConfig(seed=1, token_expires_in=2))
    record, _ = await run(sim, tmp_path, bulk_idp_ids(31), validate_report, rate=10)
    assert record.exit_code == 0
    assert len(sim.requests("token")) == 2
    assert all(r.status == 204 for r in sim.requests("revoke"))


async def test_a_refused_service_account_asks_the_token_endpoint_once(
    simulator: Simulator, tmp_path: Path, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    env = {**simulator.env(), "MONGODB_ATLAS_CLIENT_SECRET": "wrong"}
    req = RunRequest(
        plan_path=write_plan(tmp_path, bulk_idp_ids(20)),
        report_path=str(tmp_path / "report.json"),
        overrides={"rate": 0, "concurrency": 8},
        assume_yes=True,
    )
    record = await execute(req, env=env, observer=NullObserver(), handle_signals=False)
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    assert record.exit_code == 3 and report["aborted"]["reason"] == "unauthorized"
    assert len(simulator.requests("token")) == 1
    assert simulator.requests("revoke") == []
