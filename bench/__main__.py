"""``python -m bench [NAME...]``: run the benchmarks (all by default) and print a summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from . import bucket, journal_overhead, rate, resources, throughput, versus_curl
from ._common import ROUNDS, VERDICTS, machine, say

BENCHMARKS: dict[str, Callable[[], object]] = {
    "throughput": throughput.main,
    "curl": versus_curl.main,
    "bucket": bucket.main,
    "rate": rate.main,
    "resources": resources.main,
    "journal": journal_overhead.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        say(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    say(f"machine: {machine()}; rounds: {ROUNDS} (BENCH_ROUNDS)")
    t0 = time.perf_counter()
    for name in names:
        BENCHMARKS[name]()
    say(f"\nsummary ({time.perf_counter() - t0:.0f} s):")
    for v in VERDICTS:
        say(f"  {'MET   ' if v.met else 'MISSED'}  {v.name}: {v.figure} (goal {v.goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
