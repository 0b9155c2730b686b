"""``revoke-runner simulate`` (or ``python -m runner.simulator``): the simulator in the foreground.

The first line of stdout is ``listening on http://HOST:PORT`` (flushed), then the credentials
it accepts as ``export NAME=value`` lines; it serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import get_args

from .data import DEFAULT_BULK_SIZE
from .digest import Algorithm
from .server import Simulator, SimulatorConfig, iter_export_lines


def build_parser(prog: str = "revoke-runner simulate") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local stand-in for the Atlas endpoints revoke-runner uses.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--seed", type=int, default=None, help="seed of the --fail-rate draws")
    p.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of API requests answered 500, 0..1",
    )
    p.add_argument(
        "--throttle",
        type=float,
        default=None,
        metavar="R",
        help="server token bucket: R requests/s, then 429 with Retry-After",
    )
    p.add_argument(
        "--capacity",
        type=float,
        default=None,
        metavar="N",
        help="token bucket size (default: R, at least 1)",
    )
    p.add_argument(
        "--no-retry-after",
        action="store_true",
        help="throttled 429s carry their wait only in the body's parameters",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="added to every API answer, in milliseconds",
    )
    p.add_argument(
        "--token-expires-in",
        type=int,
        default=3600,
        metavar="S",
        help="lifetime of issued access tokens (default 3600)",
    )
    p.add_argument(
        "--token-rate-limit",
        type=int,
        default=10,
        metavar="N",
        help="token requests allowed per client per minute (default 10)",
    )
    p.add_argument("--digest-algorithm", choices=get_args(Algorithm), default="MD5")
    p.add_argument(
        "--nonce-lifetime",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds a Digest nonce stays fresh (default 300)",
    )
    p.add_argument(
        "--nonce-max-uses",
        type=int,
        default=None,
        metavar="N",
        help="requests a Digest nonce serves before it is stale (default unlimited)",
    )
    p.add_argument(
        "--bulk-size",
        type=int,
        default=DEFAULT_BULK_SIZE,
        metavar="N",
        help=f"IdPs of the bulk federation (default {DEFAULT_BULK_SIZE})",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        seed=args.seed,
        fail_rate=args.fail_rate,
        throttle=args.throttle,
        capacity=args.capacity,
        retry_after_header=not args.no_retry_after,
        latency_ms=args.latency,
        token_expires_in=args.token_expires_in,
        token_rate_limit=args.token_rate_limit,
        digest_algorithm=args.digest_algorithm,
        nonce_lifetime=args.nonce_lifetime,
        nonce_max_uses=args.nonce_max_uses,
        bulk_size=args.bulk_size,
    )


async def serve(config: SimulatorConfig, host: str, port: int) -> None:
    sim = Simulator(config)
    await sim.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"listening on {sim.url}", flush=True)
        for line in iter_export_lines(sim):
            print(line, flush=True)
        print(
            "simulator ready: the service account wins when both credential pairs are set; "
            "Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await sim.stop()


def main(argv: list[str] | None = None, *, prog: str = "revoke-runner simulate") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(
            f"{prog}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    return 0
