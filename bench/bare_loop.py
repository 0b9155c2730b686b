"""Baseline B: the same DELETEs as revoke-runner, from a bare aiohttp loop.

``python -m bench.bare_loop BASE_URL COUNT CONCURRENCY`` fetches one token, then sends COUNT
DELETEs for the bulk federation's first COUNT IdPs from CONCURRENCY workers sharing one
session, and prints ``{"seconds": ..., "ok": ...}``: what the runner's engine would cost if it
did nothing but send.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

from runner.simulator.data import BULK_FED, bulk_idp_ids

_ACCEPT = "application/vnd.atlas.2023-11-15+json"


async def run(base: str, count: int, concurrency: int) -> tuple[float, int]:
    started = time.perf_counter()
    ids = iter(bulk_idp_ids(count))
    ok = 0
    connector = aiohttp.TCPConnector(limit=concurrency + 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(
            base + "/api/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=aiohttp.BasicAuth("id", "secret"),
        ) as resp:
            token = (await resp.json())["access_token"]
        prefix = f"{base}/api/atlas/v2/federationSettings/{BULK_FED}/identityProviders"
        headers = {"Authorization": f"Bearer {token}", "Accept": _ACCEPT}

        async def worker() -> None:
            nonlocal ok
            for idp in ids:
                url = f"{prefix}/{idp}/jwks"
                async with session.delete(url, headers=headers) as r:
                    await r.read()
                    ok += r.status == 204

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, ok


def main() -> None:
    base, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds, ok = asyncio.run(run(base, count, concurrency))
    print(json.dumps({"seconds": seconds, "ok": ok}))


if __name__ == "__main__":
    main()
