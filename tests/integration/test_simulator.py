"""The Atlas simulator, over loopback with a real aiohttp client (and Digest signed by hand)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from runner.simulator import (
    ACME_FED,
    BULK_FED,
    GLOBEX_FED,
    INITECH_FED,
    LARGE_FED,
    Simulator,
    SimulatorConfig,
    running_simulator,
)
from runner.simulator.data import build_dataset
from runner.simulator.digest import Algorithm

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]
V2 = "/api/atlas/v2/federationSettings"
REVOKE_ACCEPT = {"Accept": "application/vnd.atlas.2023-11-15+json"}
LIST_ACCEPT = {"Accept": "application/vnd.atlas.2023-01-01+json"}
OKTA = "32b6e34b3d91647abb20e7b8"
ERROR_KEYS = {"detail", "error", "errorCode", "parameters", "reason"}


def jwks(fed: str = ACME_FED, idp: str = OKTA) -> str:
    return f"{V2}/{fed}/identityProviders/{idp}/jwks"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # A fresh connection per request: aiohttp then never re-sends on its own, so the server's
    # log counts exactly the requests the test made.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        yield s


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def get_token(s: aiohttp.ClientSession, sim: Simulator) -> str:
    c = sim.credentials
    async with s.post(
        sim.url + "/api/oauth/token",
        headers=basic(c.client_id, c.client_secret),
        data={"grant_type": "client_credentials"},
    ) as r:
        assert r.status == 200, await r.text()
        token: str = (await r.json())["access_token"]
        return token


async def bearer(s: aiohttp.ClientSession, sim: Simulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {await get_token(s, sim)}", **REVOKE_ACCEPT}


async def assert_atlas_error(r: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert r.status == status
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Error-Code"] == code
    body: dict[str, Any] = json.loads(await r.read())
    assert set(body) == ERROR_KEYS
    assert body["error"] == status and body["errorCode"] == code
    return body


# ---- OAuth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("simulator_config", [SimulatorConfig(token_rate_limit=3)])
async def test_token_flow_errors_and_rate_limit(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    url = simulator.url + "/api/oauth/token"
    c = simulator.credentials
    form = {"grant_type": "client_credentials"}
    async with session.post(url, headers=basic(c.client_id, c.client_secret), data=form) as r:
        assert r.status == 200
        body = await r.json()
        assert set(body) == {"access_token", "expires_in", "token_type"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    async with session.post(url, headers=basic(c.client_id, "wrong"), data=form) as r:
        await assert_atlas_error(r, 401, "INVALID_CLIENT_CREDENTIALS")
    async with session.post(url, headers=basic(c.client_id, c.client_secret)) as r:
        await assert_atlas_error(r, 400, "UNSUPPORTED_GRANT_TYPE")
    async with session.post(url, headers=basic(c.client_id, c.client_secret), data=form) as r:
        assert r.status == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert simulator.tokens_issued == 1
    assert [r.status for r in simulator.requests("token")] == [200, 401, 400, 429]


async def test_bearer_revoke_is_204_with_recorded_headers(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    h = await bearer(session, simulator)
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        assert r.status == 204
        assert r.headers["Content-Type"] == "application/vnd.atlas.2023-11-15+json;charset=utf-8"
        assert int(r.headers["Ratelimit-Limit"]) >= int(r.headers["Ratelimit-Remaining"]) >= 0
        assert await r.read() == b""
    assert simulator.revocations(ACME_FED, OKTA) == 1
    rec = simulator.requests("revoke")[-1]
    assert (rec.method, rec.auth, rec.status, rec.fed, rec.idp) == (
        "DELETE",
        "bearer",
        204,
        ACME_FED,
        OKTA,
    )
    simulator.expire_tokens()
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        await assert_atlas_error(r, 401, "INVALID_SERVICE_ACCOUNT_TOKEN")
    assert simulator.revocations(ACME_FED, OKTA) == 1


# ---- Digest ---------------------------------------------------------------------------------


def parse_challenge(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    return {k: v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}


def sign(ch: dict[str, str], user: str, password: str, method: str, uri: str, nc: int) -> str:
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[ch.get("algorithm", "MD5")]

    def hx(s: str) -> str:
        return h(s.encode()).hexdigest()

    cnonce = secrets.token_hex(8)
    ha1 = hx(f"{user}:{ch['realm']}:{password}")
    ha2 = hx(f"{method}:{uri}")
    resp = hx(f"{ha1}:{ch['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", uri="{uri}", '
        f'algorithm={ch["algorithm"]}, qop=auth, nc={nc:08x}, cnonce="{cnonce}", '
        f'response="{resp}"'
    )


async def challenge(s: aiohttp.ClientSession, sim: Simulator) -> dict[str, str]:
    async with s.delete(sim.url + jwks(), headers=REVOKE_ACCEPT) as r:
        assert r.status == 401
        assert (await r.json())["errorCode"] == "UNEXPECTED_ERROR"
        return parse_challenge(r.headers["WWW-Authenticate"])


async def digest_delete(
    s: aiohttp.ClientSession, sim: Simulator, ch: dict[str, str], nc: int, *, password: str = ""
) -> aiohttp.ClientResponse:
    c = sim.credentials
    auth = sign(ch, c.public_key, password or c.private_key, "DELETE", jwks(), nc)
    async with s.delete(sim.url + jwks(), headers={**REVOKE_ACCEPT, "Authorization": auth}) as r:
        await r.read()
        return r


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_handshake_replay_and_wrong_key(
    make_simulator: Any, session: aiohttp.ClientSession, algorithm: Algorithm
) -> None:
    sim: Simulator = await make_simulator(SimulatorConfig(digest_algorithm=algorithm))
    ch = await challenge(session, sim)
    assert ch["realm"] == "MMS Public API" and ch["qop"] == "auth" and ch["domain"] == ""
    assert ch["algorithm"] == algorithm and ch["stale"] == "false"
    assert "+" in ch["nonce"] and "/" in ch["nonce"]
    assert (await digest_delete(session, sim, ch, 1)).status == 204
    assert (await digest_delete(session, sim, ch, 2)).status == 204
    replay = await digest_delete(session, sim, ch, 2)
    assert replay.status == 401
    assert parse_challenge(replay.headers["WWW-Authenticate"])["stale"] == "true"
    wrong = await digest_delete(session, sim, ch, 3, password="not-the-key")
    assert wrong.status == 401
    fresh = parse_challenge(wrong.headers["WWW-Authenticate"])
    assert fresh["stale"] == "false" and fresh["nonce"] != ch["nonce"]
    assert sim.revocations(ACME_FED, OKTA) == 2
    assert [(r.auth, r.nc, r.status) for r in sim.requests("revoke")] == [
        ("none", None, 401),
        ("digest", 1, 204),
        ("digest", 2, 204),
        ("digest", 2, 401),
        ("digest", 3, 401),
    ]


async def test_digest_nonce_goes_stale_by_count_and_by_hook(
    make_simulator: Any, session: aiohttp.ClientSession
) -> None:
    sim: Simulator = await make_simulator(SimulatorConfig(nonce_max_uses=2))
    ch = await challenge(session, sim)
    assert (await digest_delete(session, sim, ch, 1)).status == 204
    assert (await digest_delete(session, sim, ch, 2)).status == 204
    stale = await digest_delete(session, sim, ch, 3)
    assert stale.status == 401
    ch2 = parse_challenge(stale.headers["WWW-Authenticate"])
    assert ch2["stale"] == "true" and ch2["nonce"] != ch["nonce"]
    assert (await digest_delete(session, sim, ch2, 1)).status == 204
    sim.expire_nonces()
    again = await digest_delete(session, sim, ch2, 2)
    assert again.status == 401
    assert parse_challenge(again.headers["WWW-Authenticate"])["stale"] == "true"


@pytest.mark.parametrize(("window", "late_ok"), [(0, False), (32, True)])
async def test_digest_out_of_order_nonce_count(
    make_simulator: Any, session: aiohttp.ClientSession, window: int, late_ok: bool
) -> None:
    sim: Simulator = await make_simulator(SimulatorConfig(digest_nc_window=window))
    ch = await challenge(session, sim)
    assert (await digest_delete(session, sim, ch, 2)).status == 204
    assert (await digest_delete(session, sim, ch, 1)).status == (204 if late_ok else 401)
    assert (await digest_delete(session, sim, ch, 1)).status == 401  # a replay, always


# ---- list -----------------------------------------------------------------------------------


async def list_page(
    s: aiohttp.ClientSession, sim: Simulator, h: dict[str, str], fed: str, query: str
) -> tuple[int, dict[str, Any]]:
    async with s.get(f"{sim.url}{V2}/{fed}/identityProviders?{query}", headers=h) as r:
        if r.status == 200:
            ctype = r.headers["Content-Type"]
            assert ctype == "application/vnd.atlas.2023-01-01+json;charset=utf-8"
        return r.status, json.loads(await r.read())


async def test_list_defaults_filters_and_pagination(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    h = {**await bearer(session, simulator), **LIST_ACCEPT}
    status, page = await list_page(session, simulator, h, ACME_FED, "")
    assert status == 200
    assert [(i["protocol"], i["idpType"]) for i in page["results"]] == [("SAML", "WORKFORCE")]
    _, page = await list_page(session, simulator, h, ACME_FED, "protocol=OIDC")
    assert {i["idpType"] for i in page["results"]} == {"WORKFORCE"}
    assert page["totalCount"] == 3

    large = build_dataset()[LARGE_FED]
    want = [
        i.id
        for i in large.page(
            frozenset({"OIDC", "SAML"}), frozenset({"WORKFORCE", "WORKLOAD"}), 0, 10**6
        )[0]
        if i.protocol == "OIDC"
    ]
    assert len(want) == 1200
    got: list[str] = []
    q = "protocol=OIDC&idpType=WORKFORCE&idpType=WORKLOAD&itemsPerPage=500"
    for n in (1, 2, 3):
        status, page = await list_page(session, simulator, h, LARGE_FED, f"{q}&pageNum={n}")
        assert status == 200 and page["totalCount"] == 1200
        self_link = next(link["href"] for link in page["links"] if link["rel"] == "self")
        assert self_link.endswith(
            f"?idpType=WORKFORCE&idpType=WORKLOAD&protocol=OIDC&pageNum={n}&itemsPerPage=500"
        )
        assert any(link["rel"] == "next" for link in page["links"]) == (n < 3)
        got.extend(i["id"] for i in page["results"])
    assert got == want
    assert {i["idpType"] for i in page["results"]} == {"WORKFORCE", "WORKLOAD"}
    _, empty = await list_page(session, simulator, h, LARGE_FED, f"{q}&pageNum=4")
    assert empty["results"] == [] and empty["totalCount"] == 1200

    status, body = await list_page(session, simulator, h, LARGE_FED, "itemsPerPage=501")
    assert status == 400 and body["errorCode"] == "INVALID_ITEMS_PER_PAGE"
    status, body = await list_page(session, simulator, h, LARGE_FED, "protocol=LDAP")
    assert status == 400 and body["errorCode"] == "INVALID_ENUM_VALUE"
    status, body = await list_page(session, simulator, {**h, **REVOKE_ACCEPT}, LARGE_FED, "")
    assert status == 406 and body["errorCode"] == "INVALID_VERSION_DATE"


async def test_bulk_federation_computes_its_idps(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    h = await bearer(session, simulator)
    last = f"c0ffee00c0ffee00{199_999:08x}"
    async with session.delete(simulator.url + jwks(BULK_FED, last), headers=h) as r:
        assert r.status == 204
    async with session.delete(
        simulator.url + jwks(BULK_FED, f"c0ffee00c0ffee00{200_000:08x}"), headers=h
    ) as r:
        await assert_atlas_error(r, 404, "IDENTITY_PROVIDER_NOT_FOUND")
    q = "protocol=OIDC&idpType=WORKLOAD&itemsPerPage=500&pageNum=200"
    _, page = await list_page(session, simulator, {**h, **LIST_ACCEPT}, BULK_FED, q)
    assert page["totalCount"] == 100_000
    assert [i["id"] for i in page["results"]][-1] == last
    assert {i["idpType"] for i in page["results"]} == {"WORKLOAD"}


# ---- errors ---------------------------------------------------------------------------------


async def test_error_bodies(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    h = await bearer(session, simulator)
    cases = [
        (jwks("0123456789abcdef01234567"), 404, "FEDERATION_SETTINGS_NOT_FOUND"),
        (jwks(ACME_FED, "32b6e34b3d91647abb20e7ff"), 404, "IDENTITY_PROVIDER_NOT_FOUND"),
        (jwks(INITECH_FED, "7f3335d47c337564cee40001"), 403, "USER_UNAUTHORIZED"),
        (
            jwks(ACME_FED, "32b6e34b3d91647abb20e7be"),
            400,
            "IDENTITY_PROVIDER_PROTOCOL_NOT_SUPPORTED",
        ),
    ]
    for path, status, code in cases:
        async with session.delete(simulator.url + path, headers=h) as r:
            await assert_atlas_error(r, status, code)
    old = {**h, "Accept": "application/vnd.atlas.2023-01-01+json"}
    async with session.delete(simulator.url + jwks(), headers=old) as r:
        await assert_atlas_error(r, 406, "INVALID_VERSION_DATE")
    async with session.get(
        f"{simulator.url}{V2}/{GLOBEX_FED}/identityProviders/6e2224c36b226453bdd30001", headers=h
    ) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/vnd.atlas.2023-11-15+json;charset=utf-8"
        assert (await r.json())["displayName"] == "globex-entra"
    assert simulator.total_revocations == 0


# ---- token bucket ---------------------------------------------------------------------------


@pytest.mark.parametrize("header", [True, False])
async def test_token_bucket_429(
    make_simulator: Any, session: aiohttp.ClientSession, header: bool
) -> None:
    sim: Simulator = await make_simulator(
        SimulatorConfig(throttle=0.5, capacity=2, retry_after_header=header)
    )
    h = await bearer(session, sim)
    statuses = []
    for _ in range(3):
        async with session.delete(sim.url + jwks(), headers=h) as r:
            statuses.append(r.status)
            if r.status == 429:
                body = await assert_atlas_error(r, 429, "RATE_LIMITED_TOKEN_BUCKET")
                assert ("Retry-After" in r.headers) == header
                if header:
                    assert r.headers["Retry-After"] == "2"
    assert statuses == [204, 204, 429]
    # [path, retryAfterSeconds, capacity, refillRate, refillSeconds]: 1 token per 2 s.
    assert body["parameters"] == [jwks(), 2, 2, 1, 2]
    assert sim.requests("revoke")[-1].fault == "throttle"


# ---- scripted faults ------------------------------------------------------------------------


async def test_scripted_statuses_then_normal(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    h = await bearer(session, simulator)
    codes = [500, 502, 503, 504, 400, 403, 404, 406, 410]
    simulator.script(
        *codes, {"status": 429, "retryAfter": 3, "retryAfterHeader": False}, idp=OKTA, fed=ACME_FED
    )
    other = jwks(ACME_FED, "32b6e34b3d91647abb20e7b9")
    async with session.delete(simulator.url + other, headers=h) as r:
        assert r.status == 204  # another IdP is not affected
    for code in codes:
        async with session.delete(simulator.url + jwks(), headers=h) as r:
            assert r.status == code
            assert set(json.loads(await r.read())) == ERROR_KEYS
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        body = await assert_atlas_error(r, 429, "RATE_LIMITED_TOKEN_BUCKET")
        assert "Retry-After" not in r.headers and body["parameters"][1] == 3
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        assert r.status == 204
    assert simulator.revocations(ACME_FED, OKTA) == 1
    simulator.script(401)
    async with session.delete(simulator.url + other, headers=h) as r:
        assert r.status == 401 and "Digest" in r.headers["WWW-Authenticate"]


async def test_scripted_connection_faults(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    h = await bearer(session, simulator)
    # aiohttp re-sends an idempotent request once after a dropped connection (SPEC "Retries"),
    # so one client call meets both resets.
    simulator.script("reset", "reset", "hang", "html", "empty:503")
    with pytest.raises(aiohttp.ClientOSError):
        async with session.delete(simulator.url + jwks(), headers=h) as r:
            await r.read()
    with pytest.raises(asyncio.TimeoutError):
        async with session.delete(
            simulator.url + jwks(), headers=h, timeout=aiohttp.ClientTimeout(total=0.3)
        ) as r:
            await r.read()
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        assert r.status == 502 and r.headers["Content-Type"].startswith("text/html")
        assert "<h1>502 Bad Gateway</h1>" in await r.text()
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        assert r.status == 503 and await r.read() == b""
    async with session.delete(simulator.url + jwks(), headers=h) as r:
        assert r.status == 204
    assert [(r.fault, r.status) for r in simulator.requests("revoke")] == [
        ("reset", None),
        ("reset", None),
        ("hang", None),
        ("html", 502),
        ("empty", 503),
        (None, 204),
    ]


async def test_scripted_list_and_token_scopes(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.script(500, scope="token")
    c = simulator.credentials
    async with session.post(
        simulator.url + "/api/oauth/token",
        headers=basic(c.client_id, c.client_secret),
        data={"grant_type": "client_credentials"},
    ) as r:
        assert r.status == 500
    h = {**await bearer(session, simulator), **LIST_ACCEPT}
    simulator.script(503, scope="list", fed=GLOBEX_FED)
    assert (await list_page(session, simulator, h, ACME_FED, ""))[0] == 200
    assert (await list_page(session, simulator, h, GLOBEX_FED, ""))[0] == 503
    assert (await list_page(session, simulator, h, GLOBEX_FED, ""))[0] == 200


async def test_fail_rate_is_seeded_and_latency_applies(
    make_simulator: Any, session: aiohttp.ClientSession
) -> None:
    runs = []
    for _ in range(2):
        sim: Simulator = await make_simulator(SimulatorConfig(seed=7, fail_rate=0.5, latency_ms=20))
        h = await bearer(session, sim)
        t0 = time.monotonic()
        statuses = []
        for _ in range(12):
            async with session.delete(sim.url + jwks(), headers=h) as r:
                statuses.append(r.status)
        assert time.monotonic() - t0 >= 12 * 0.02
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {204, 500}


# ---- admin endpoints, thread helper, CLI ----------------------------------------------------


async def test_admin_endpoints(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    url = simulator.url
    async with session.post(url + "/_sim/script", json={"faults": [502], "idp": OKTA}) as r:
        assert r.status == 200 and (await r.json())["pending"][0]["idp"] == OKTA
    async with session.post(url + "/_sim/script", json={"faults": ["bogus"]}) as r:
        assert r.status == 400 and "bogus" in (await r.json())["error"]
    h = await bearer(session, simulator)
    for expected in (502, 204):
        async with session.delete(url + jwks(), headers=h) as r:
            assert r.status == expected
    async with session.get(url + "/_sim/stats") as r:
        stats = await r.json()
    assert stats["revocations"] == {f"{ACME_FED}/{OKTA}": 1}
    assert stats["byKind"] == {"POST token": 1, "DELETE revoke": 2}
    async with session.get(url + "/_sim/requests") as r:
        reqs = (await r.json())["requests"]
    assert [(q["method"], q["auth"], q["status"]) for q in reqs] == [
        ("POST", "basic", 200),
        ("DELETE", "bearer", 502),
        ("DELETE", "bearer", 204),
    ]
    assert reqs[1]["mono"] <= reqs[2]["mono"] and reqs[1]["wall"] > 1e9
    async with session.post(url + "/_sim/expire-tokens") as r:
        assert r.status == 200
    async with session.delete(url + jwks(), headers=h) as r:
        assert r.status == 401
    async with session.post(url + "/_sim/reset") as r:
        assert r.status == 200
    assert simulator.log == [] and simulator.revocations(ACME_FED, OKTA) == 0


def test_running_simulator_thread_and_cross_thread_script() -> None:
    with running_simulator() as sim:
        sim.script(500, scope="token")
        req = urllib.request.Request(
            sim.url + "/api/oauth/token",
            data=b"grant_type=client_credentials",
            headers=basic(sim.credentials.client_id, sim.credentials.client_secret),
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 500
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["token_type"] == "Bearer"
        assert [r.status for r in sim.requests("token")] == [500, 200]


def test_cli_prints_url_first_and_stops_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_ATLAS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.simulator", "--port", "0", "--throttle", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", first)
        assert m, first
        exports: dict[str, str] = {}
        for _ in range(5):
            line = re.fullmatch(r"export (\w+)=(\S+)\n", proc.stdout.readline())
            assert line, "expected an export line"
            exports[line.group(1)] = line.group(2)
        assert exports["MONGODB_ATLAS_BASE_URL"] == m.group(1)
        req = urllib.request.Request(
            m.group(1) + "/api/oauth/token",
            data=b"grant_type=client_credentials",
            headers=basic(
                exports["MONGODB_ATLAS_CLIENT_ID"], exports["MONGODB_ATLAS_CLIENT_SECRET"]
            ),
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        assert {"MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PRIVATE_API_KEY"} <= set(exports)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_options() -> None:
    from runner.simulator.main import main

    assert main(["--fail-rate", "2"]) == 2


# ---- sample plans match the dataset ---------------------------------------------------------


def plan_targets(name: str) -> list[dict[str, Any]]:
    plan = yaml.safe_load((REPO / "sample_plans" / name).read_text())
    assert plan["version"] == 1
    targets: list[dict[str, Any]] = plan["targets"]
    return targets


@pytest.mark.parametrize(
    ("name", "ok"),
    [("demo.yaml", True), ("large.yaml", True), ("discovery.yaml", True), ("failures.yaml", False)],
)
def test_sample_plans_name_known_oidc_idps(name: str, ok: bool) -> None:
    feds = build_dataset()
    pairs: list[tuple[str, str]] = []
    for t in plan_targets(name):
        fed = t["federationSettingsId"]
        assert re.fullmatch(r"[a-f0-9]{24}", fed)
        if t.get("identityProviders") == "all":
            assert (
                feds[fed].page(frozenset({"OIDC"}), frozenset({"WORKFORCE", "WORKLOAD"}), 0, 1)[1]
                > 0
            )
            continue
        ids = t.get("identityProviderIds") or [t["identityProviderId"]]
        pairs.extend((fed, i) for i in ids)
    assert len(pairs) == len(set(pairs))
    revocable = [
        fed in feds
        and feds[fed].owner
        and (idp := feds[fed].get(i)) is not None
        and idp.protocol == "OIDC"
        for fed, i in pairs
    ]
    assert all(revocable) if ok else not all(revocable)
    if name == "large.yaml":
        assert len(pairs) == 2000


# ---- the conftest's report validation -------------------------------------------------------


def spec_example_report() -> dict[str, Any]:
    at = "2026-12-03T16:00:00.000Z"
    return {
        "schemaVersion": 1,
        "tool": {"name": "revoke-runner", "version": "0.1.0"},
        "plan": {"path": "plan.yaml", "sha256": "0" * 64},
        "baseUrl": "https://cloud.mongodb.com",
        "dryRun": False,
        "startedAt": at,
        "finishedAt": at,
        "durationSeconds": 1.234,
        "settings": {
            "concurrency": 8,
            "rate": 5,
            "effectiveRate": 5,
            "maxAttempts": 5,
            "timeout": 30,
            "apiVersion": "2023-11-15",
        },
        "summary": {
            "total": 1,
            "revoked": 1,
            "failed": 0,
            "skipped": 0,
            "notAttempted": 0,
            "wouldRevoke": 0,
        },
        "exitCode": 0,
        "aborted": None,
        "targets": [
            {
                "federationSettingsId": ACME_FED,
                "identityProviderId": OKTA,
                "label": "okta-prod",
                "outcome": "revoked",
                "httpStatus": 204,
                "errorCode": None,
                "detail": None,
                "attempts": 1,
                "startedAt": at,
                "finishedAt": at,
                "durationMs": 41.7,
                "history": [{"at": at, "httpStatus": 204, "ms": 41.2}],
            }
        ],
    }


def test_validate_report_accepts_the_spec_example_and_rejects_a_gap(validate_report: Any) -> None:
    report = spec_example_report()
    validate_report(report)
    del report["targets"][0]["outcome"]
    with pytest.raises(pytest.fail.Exception, match="outcome"):
        validate_report(report)
