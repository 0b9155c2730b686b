"""Transport security: https only (http to loopback excepted), verified TLS with a private CA
through SSL_CERT_FILE, no redirect followed, Atlas for Government by base URL alone.

The TLS server is the simulator's own app served over TLS with a throwaway CA (trustme)."""

from __future__ import annotations

import io
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme
from aiohttp import web

from runner.app import execute, make_auth
from runner.cli import main
from runner.config import RunRequest, ServiceAccount, base_url_from
from runner.errors import UsageError
from runner.events import NullObserver
from runner.model import RunRecord
from runner.simulator import Simulator, SimulatorConfig
from runner.simulator.data import BULK_FED, bulk_idp_ids

IDPS = bulk_idp_ids(3)


def write_plan(tmp_path: Path) -> str:
    lines = ["version: 1", "targets:", f"  - federationSettingsId: {BULK_FED}"]
    lines += ["    identityProviderIds:", *(f"      - {i}" for i in IDPS)]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def run(tmp_path: Path, env: dict[str, str], base_url: str | None = None) -> RunRecord:
    req = RunRequest(
        plan_path=write_plan(tmp_path),
        report_path=str(tmp_path / "report.json"),
        overrides={"rate": 0, "concurrency": 2, "max_attempts": 1, "timeout": 5},
        base_url=base_url,
        assume_yes=True,
    )
    with anyio.fail_after(20):
        return await execute(req, env=env, observer=NullObserver(), handle_signals=False)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_sim(anyio_backend: str, ca: trustme.CA) -> AsyncIterator[tuple[Simulator, str]]:
    """The simulator over TLS on 127.0.0.1, its certificate issued by the throwaway CA."""
    sim = Simulator(SimulatorConfig(seed=1, bulk_size=100))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    runner = web.AppRunner(sim.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield sim, f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def key_env(sim: Simulator, base_url: str, **extra: str) -> dict[str, str]:
    return {"MONGODB_ATLAS_BASE_URL": base_url, **sim.credentials.api_key_env(), **extra}


@pytest.mark.anyio
async def test_certificates_are_verified_by_default(
    tls_sim: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = tls_sim
    record = await run(tmp_path, key_env(sim, url))
    report = record.to_report()
    assert record.exit_code == 1
    assert all(t["outcome"] == "failed" for t in report["targets"])
    assert {h.get("error") for t in report["targets"] for h in t["history"]} == {"connection"}
    assert "certificate" in (report["targets"][0]["detail"] or "").lower()
    # The handshake failed: the server never saw an HTTP request.
    assert sim.requests() == []


@pytest.mark.anyio
async def test_ssl_cert_file_adds_a_private_ca(
    tls_sim: tuple[Simulator, str], tmp_path: Path, ca: trustme.CA
) -> None:
    sim, url = tls_sim
    bundle = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    record = await run(tmp_path, key_env(sim, url, SSL_CERT_FILE=str(bundle)))
    assert record.exit_code == 0, record.to_report()["targets"][0]
    assert all(sim.revocations(BULK_FED, i) == 1 for i in IDPS)


@pytest.mark.anyio
async def test_service_account_token_endpoint_is_derived_from_the_base_url(
    tls_sim: tuple[Simulator, str], tmp_path: Path, ca: trustme.CA
) -> None:
    sim, url = tls_sim
    bundle = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = {
        "MONGODB_ATLAS_BASE_URL": url,
        "SSL_CERT_FILE": str(bundle),
        **sim.credentials.service_account_env(),
    }
    record = await run(tmp_path, env)
    assert record.exit_code == 0
    assert len(sim.requests("token")) == 1


def test_atlas_for_government_by_base_url_alone() -> None:
    base = base_url_from(None, {"MONGODB_ATLAS_BASE_URL": "https://cloud.mongodbgov.com/"})
    assert base == "https://cloud.mongodbgov.com"
    auth = make_auth(ServiceAccount("id", "secret"), base)
    assert "https://cloud.mongodbgov.com/api/oauth/token" in repr(auth)
    assert "secret" not in repr(auth)


@pytest.mark.anyio
async def test_unreadable_ssl_cert_file_is_a_usage_error(
    tls_sim: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = tls_sim
    missing = tmp_path / "nope.pem"
    with pytest.raises(UsageError, match="SSL_CERT_FILE"):
        await run(tmp_path, key_env(sim, url, SSL_CERT_FILE=str(missing)))
    assert sim.requests() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://cloud.mongodb.com",
        "https://cloud.mongodbgov.com",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:8080",
        "http://localhost:1234/",
    ],
)
def test_accepted_base_urls(url: str) -> None:
    assert base_url_from(url, {}) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://cloud.mongodb.com",
        "http://10.0.0.1",
        "http://localhost.example.com",
        "ftp://cloud.mongodb.com",
        "cloud.mongodb.com",
        "https://",
        "https://user:hunter2pw@cloud.mongodb.com",
        "https://cloud.mongodb.com:notaport",
    ],
)
def test_refused_base_urls(url: str) -> None:
    with pytest.raises(UsageError) as err:
        base_url_from(url, {})
    assert "hunter2pw" not in str(err.value)


def test_plain_http_to_a_remote_host_exits_2_before_any_request(
    sim_thread: Simulator, tmp_path: Path
) -> None:
    # Credentials are valid and the simulator is up: only the base URL stops the run.
    err = io.StringIO()
    env = {**sim_thread.env(api_key=True), "MONGODB_ATLAS_BASE_URL": "http://example.com"}
    code = main(
        ["run", write_plan(tmp_path), "--yes", "--report", str(tmp_path / "r.json")],
        env=env,
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2
    assert "http://example.com" in err.getvalue()
    assert "https://" in err.getvalue()
    assert not (tmp_path / "r.json").exists()
    assert not list(tmp_path.glob("*.journal.jsonl"))
    assert sim_thread.stats()["requests"] == 0


@pytest.mark.anyio
async def test_redirects_are_never_followed(tmp_path: Path) -> None:
    """A 307 from the API fails its target; the place it points to receives nothing."""
    elsewhere: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        elsewhere.append(dict(request.headers))
        return web.Response(status=204)

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "tok-redirect-test", "expires_in": 3600})

    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", record)
    other_runner = web.AppRunner(other, access_log=None)
    await other_runner.setup()
    await web.TCPSite(other_runner, "127.0.0.1", 0).start()
    target = f"http://127.0.0.1:{other_runner.addresses[0][1]}/stolen"

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(target)

    api = web.Application()
    api.router.add_post("/api/oauth/token", token)
    api.router.add_route("*", "/api/atlas/{tail:.*}", redirect)
    api_runner = web.AppRunner(api, access_log=None)
    await api_runner.setup()
    await web.TCPSite(api_runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{api_runner.addresses[0][1]}"
    try:
        env: dict[str, Any] = {
            "MONGODB_ATLAS_BASE_URL": base,
            "MONGODB_ATLAS_CLIENT_ID": "id",
            "MONGODB_ATLAS_CLIENT_SECRET": "secret",
        }
        record_ = await run(tmp_path, env)
    finally:
        await api_runner.cleanup()
        await other_runner.cleanup()
    report = record_.to_report()
    assert record_.exit_code == 1
    assert [t["httpStatus"] for t in report["targets"]] == [307] * len(IDPS)
    assert all(t["attempts"] == 1 for t in report["targets"])
    assert elsewhere == []
