"""A minimal Atlas stand-in for throughput benchmarks: the same server for every side.

A bare asyncio protocol, not aiohttp.web, so the server costs as little CPU as possible and the
client is what the benchmark measures. It answers ``POST /api/oauth/token`` with a bearer token,
any ``DELETE`` with 204, and ``GET /_arrivals`` with the arrival times (``time.time()``) of the
DELETEs since the previous such GET. HTTP/1.1 keep-alive; no pipelining needed.

``python -m bench.server [--port N]`` prints ``listening on http://HOST:PORT`` first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import ClassVar

_TOKEN = json.dumps(
    {"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600}
).encode()
_NO_CONTENT = (
    b"HTTP/1.1 204 No Content\r\nContent-Type: application/vnd.atlas.2023-11-15+json\r\n\r\n"
)


def _ok(body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _Http(asyncio.Protocol):
    arrivals: ClassVar[list[float]] = []

    def __init__(self) -> None:
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self._buf) < end + 4 + length:
                return
            self._buf = self._buf[end + 4 + length :]
            self._answer(head.split(b" ", 2))

    def _answer(self, request_line: list[bytes]) -> None:
        assert self._transport is not None
        method, target = request_line[0], request_line[1]
        if method == b"DELETE":
            _Http.arrivals.append(time.time())
            self._transport.write(_NO_CONTENT)
        elif method == b"POST" and target.startswith(b"/api/oauth/token"):
            self._transport.write(_ok(_TOKEN))
        elif target.startswith(b"/_arrivals"):
            body = json.dumps(_Http.arrivals).encode()
            _Http.arrivals = []
            self._transport.write(_ok(body))
        else:
            self._transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, host, port, backlog=1024)
    bound = server.sockets[0].getsockname()
    print(f"listening on http://{bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
