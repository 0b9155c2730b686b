"""Benchmark 4: client rate accuracy at ``--rate 50`` and ``--rate 500``.

The minimal server records when each DELETE arrives; the measured rate is (n - 1) / (last -
first), and the busiest 1-second window is the most arrivals in any [t, t + 1 s) that starts at
an arrival. Goals: within 2% of R, and no window over R + 1. The window is counted twice: over
the starts the client recorded (each send's ``at`` in the report: what the client controls) and
over the arrivals at the server (stricter: the way there, and the server's own lateness in
reading its socket, count against the client).
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any

from ._common import ROUNDS, Workdir, median, minimal_server, run_runner, runner_env, say, verdict

CASES = ((50, 300), (500, 2_500))  # (rate, targets): about 6 s and 5 s per run
CONCURRENCY = 64


def busiest_window(times: list[float], width: float = 1.0) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def client_starts(report: dict[str, Any]) -> list[float]:
    return [
        datetime.fromisoformat(h["at"]).timestamp() for t in report["targets"] for h in t["history"]
    ]


def main() -> None:
    say(
        f"\n[4] rate accuracy, concurrency {CONCURRENCY}, {ROUNDS} rounds per rate, "
        "server-side arrival times"
    )
    work = Workdir()
    try:
        with minimal_server() as srv:
            env = runner_env(srv.url)
            for rate, count in CASES:
                plan = work.plan(count)
                errors, windows, client_windows = [], [], []
                for r in range(ROUNDS):
                    with urllib.request.urlopen(srv.url + "/_arrivals") as resp:
                        resp.read()  # forget earlier runs
                    m, doc = run_runner(
                        plan,
                        work.report(),
                        env,
                        "--rate",
                        str(rate),
                        "--concurrency",
                        str(CONCURRENCY),
                    )
                    with urllib.request.urlopen(srv.url + "/_arrivals") as resp:
                        times: list[float] = json.loads(resp.read())
                    measured = (len(times) - 1) / (max(times) - min(times))
                    errors.append(measured / rate - 1)
                    windows.append(busiest_window(times))
                    client_windows.append(busiest_window(client_starts(doc)))
                    say(
                        f"  --rate {rate}, round {r + 1}: exit {m.rc}, {len(times)} DELETEs, "
                        f"{measured:.2f}/s ({errors[-1]:+.2%}), busiest 1 s window: "
                        f"{client_windows[-1]} client starts, {windows[-1]} server arrivals"
                    )
                err = median(errors)
                verdict(f"4 rate {rate} accuracy", f"{err:+.2%}", "within +-2%", abs(err) <= 0.02)
                for name, seen in (("client starts", client_windows), ("server arrivals", windows)):
                    verdict(
                        f"4 rate {rate} busiest window, {name}",
                        f"{max(seen)} (worst of {ROUNDS})",
                        f"<= {rate + 1}",
                        max(seen) <= rate + 1,
                    )
    finally:
        work.close()


if __name__ == "__main__":
    main()
