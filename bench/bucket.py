"""Benchmark 3: efficiency under a server-side token bucket shaped like Atlas's.

The simulator with capacity 20 and refill 40/s; 420 targets at ``--rate 0 --concurrency 64``.
Ideal time is (N - capacity) / refill: the bucket's first 20 at once, then the refill rate.
Efficiency = ideal / actual (the report's ``durationSeconds``); 429s counted in the report's
history. Two variants: 429s with ``Retry-After``, and with only the body's retryAfterSeconds.
"""

from __future__ import annotations

import time

from ._common import (
    PYTHON,
    ROUNDS,
    Workdir,
    median,
    run_runner,
    runner_env,
    say,
    server,
    verdict,
)

TARGETS = 420
CAPACITY = 20
REFILL = 40.0
CONCURRENCY = 64
IDEAL = (TARGETS - CAPACITY) / REFILL


def main() -> None:
    say(
        f"\n[3] token bucket (capacity {CAPACITY}, refill {REFILL:g}/s): {TARGETS} targets, "
        f"--rate 0 --concurrency {CONCURRENCY}, ideal {IDEAL:.1f} s, {ROUNDS} rounds per variant"
    )
    work = Workdir()
    plan = work.plan(TARGETS)
    try:
        for label, flags in (("Retry-After", []), ("body only", ["--no-retry-after"])):
            argv = [
                PYTHON,
                "-m",
                "runner",
                "simulate",
                "--port",
                "0",
                "--throttle",
                str(REFILL),
                "--capacity",
                str(CAPACITY),
                *flags,
            ]
            effs, throttled = [], []
            with server(argv, exports=3) as srv:
                env = runner_env(
                    srv.url, {k: v for k, v in srv.env_lines.items() if "_CLIENT_" in k}
                )
                for r in range(ROUNDS):
                    time.sleep(1.0)  # the bucket refills to its capacity between runs
                    m, doc = run_runner(
                        plan, work.report(), env, "--rate", "0", "--concurrency", str(CONCURRENCY)
                    )
                    n429 = sum(
                        1
                        for t in doc["targets"]
                        for h in t["history"]
                        if h.get("httpStatus") == 429
                    )
                    effs.append(IDEAL / doc["durationSeconds"])
                    throttled.append(n429)
                    say(
                        f"  {label}, round {r + 1}: exit {m.rc}, {doc['durationSeconds']:.2f} s, "
                        f"efficiency {effs[-1]:.3f}, {n429} x 429, "
                        f"effectiveRate {doc['settings']['effectiveRate']}"
                    )
            eff, share = median(effs), median(throttled) / TARGETS
            verdict(f"3 bucket efficiency ({label})", f"{eff:.3f}", ">= 0.90", eff >= 0.90)
            verdict(
                f"3 429 share ({label})",
                f"{share:.1%} ({median(throttled):.0f} of {TARGETS})",
                "<= 5%",
                share <= 0.05,
            )
    finally:
        work.close()


if __name__ == "__main__":
    main()
