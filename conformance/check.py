"""``make conformance``: revoke-runner's requests checked against the official OpenAPI document.

Stoplight Prism (pinned in package.json, installed in ./node_modules) serves the Atlas fragment
as a mock. The token endpoint is not in that fragment, so a loopback stand-in sits in front:
it answers ``POST /api/oauth/token`` and forwards everything else to Prism, keeping each
``sl-violations`` header. revoke-runner (the real CLI, as a child process) then runs a plan of
revocations with a discovery, and a dry run of it.

It fails on any request violation Prism reports, in its log or its headers, and on an Accept
header naming a media type the document does not define for the operation (Prism files that
under content negotiation, not validation, so it is checked by its own log line).

    python conformance/check.py [--spec FILE] [--api-version V]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PRISM = HERE / "node_modules" / ".bin" / "prism"
DEFAULT_SPEC = ROOT.parent / "shared" / "atlas-openapi-jwks.yaml"

PLAN = """\
version: 1
targets:
  - federationSettingsId: 5d1113b25a115342acc2d1aa
    identityProviderId: 32b6e34b3d91647abb20e7b8
    label: explicit
  - federationSettingsId: 5d1113b25a115342acc2d1aa
    identityProviderIds: [32b6e34b3d91647abb20e7b9, 32b6e34b3d91647abb20e7ba]
  - federationSettingsId: 6e2224c36b226453bdd3e2bb
    identityProviders: all
"""

# Prism's own words for what it found wrong with a request.
_LOG_PROBLEMS = re.compile(r"Violation: request|Unable to find content for")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class StandIn:
    """Token endpoint here; everything else forwarded to Prism, its violations kept."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/oauth/token", self._token)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            form.get("grant_type") != "client_credentials"
            or request.headers.get("Authorization", "")[:6].lower() != "basic "
        ):
            return web.json_response({"error": "invalid_request"}, status=400)
        token = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                 "expires_in": 3600}  # fmt: skip
        return web.json_response(token)

    async def _forward(self, request: web.Request) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            violations = json.loads(resp.headers.get("sl-violations", "[]"))
            self.exchanges.append(
                {
                    "method": request.method,
                    "path": request.rel_url.raw_path_qs,
                    "accept": request.headers.get("Accept"),
                    "status": resp.status,
                    "violations": violations,
                }
            )
            keep = {
                k: v
                for k, v in resp.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
            return web.Response(status=resp.status, headers=keep, body=body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def start_prism(spec: Path, port: int, log: Path) -> asyncio.subprocess.Process:
    if not PRISM.exists():
        raise SystemExit(f"{PRISM} is missing: run 'npm ci --prefix conformance' first")
    out = log.open("wb")
    proc = await asyncio.create_subprocess_exec(
        str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port),
        stdout=out, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "Prism is listening" not in log.read_text(errors="replace"):
        if proc.returncode is not None or time.monotonic() > deadline:
            raise SystemExit(f"Prism did not start; its log:\n{log.read_text(errors='replace')}")
        await asyncio.sleep(0.2)
    return proc


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runner", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def main_async(spec: Path, api_version: str | None) -> int:
    work = Path(tempfile.mkdtemp(prefix="revoke-conformance-"))
    prism_log = work / "prism.log"
    prism = await start_prism(spec, free_port(), prism_log)
    prism_url = f"http://127.0.0.1:{_port_of(prism_log)}"
    stand_in = StandIn(prism_url)
    runner = web.AppRunner(stand_in.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    failures: list[str] = []
    try:
        plan = work / "plan.yaml"
        plan.write_text(PLAN)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_ATLAS_")}
        env.update(
            MONGODB_ATLAS_BASE_URL=base,
            MONGODB_ATLAS_CLIENT_ID="mdb_sa_id_conformance",
            MONGODB_ATLAS_CLIENT_SECRET="mdb_sa_sk_conformance",
        )
        version = ["--api-version", api_version] if api_version else []
        runs = {
            "run": ["run", str(plan), "--yes", "--rate", "0", "--report",
                    str(work / "run.json"), *version],
            "dry run": ["run", str(plan), "--dry-run", "--report", str(work / "dry.json"),
                        *version],
        }  # fmt: skip
        for name, args in runs.items():
            rc, out = await run_cli(args, env)
            print(f"revoke-runner {name}: exit {rc}")
            if rc != 0:
                failures.append(f"revoke-runner {name} exited {rc}:\n{out}")
    finally:
        await stand_in.close()
        await runner.cleanup()
        prism.terminate()
        await prism.wait()

    for ex in stand_in.exchanges:
        req = [v for v in ex["violations"] if (v.get("location") or [""])[0] == "request"]
        print(f"  {ex['method']:6} {ex['path']}  Accept {ex['accept']}  -> {ex['status']}"
              + (f"  {len(req)} request violation(s)" if req else ""))  # fmt: skip
        for v in req:
            failures.append(f"{ex['method']} {ex['path']}: {v.get('message')}")
    for line in prism_log.read_text(errors="replace").splitlines():
        if _LOG_PROBLEMS.search(line):
            failures.append("Prism: " + _ANSI.sub("", line).split("› ", 1)[-1].strip())
    methods = {ex["method"] for ex in stand_in.exchanges}
    if not {"DELETE", "GET"} <= methods:
        failures.append(f"expected revocations and a discovery through Prism, saw {methods}")
    if failures:
        print(f"\nconformance FAILED ({len(failures)} problem(s)); Prism's log: {prism_log}")
        for f in failures:
            print("  - " + f)
        return 1
    print(f"\nconformance passed: {len(stand_in.exchanges)} requests, no request violation")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _port_of(log: Path) -> int:
    m = re.search(r"Prism is listening on http://[^:]+:(\d+)", _ANSI.sub("", log.read_text()))
    if m is None:
        raise SystemExit("Prism's log names no listening port")
    return int(m.group(1))


def main() -> int:
    p = argparse.ArgumentParser(prog="python conformance/check.py")
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the OpenAPI document")
    p.add_argument("--api-version", default=None, help="passed to revoke-runner run")
    args = p.parse_args()
    return asyncio.run(main_async(args.spec, args.api_version))


if __name__ == "__main__":
    sys.exit(main())
