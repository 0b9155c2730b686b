"""Benchmark 5b, 5c: peak RSS of a 100,000-target run, and ``validate`` of a 100,000-target plan.

Peak RSS is the child's own ru_maxrss (wait4), for a real run against the minimal server at
``--rate 0 --concurrency 64``. ``validate`` is timed end to end (start to exit), median of ROUNDS.
CPU per target (5a) is measured by the throughput benchmark, beside its baseline.
"""

from __future__ import annotations

from ._common import (
    ROUNDS,
    RUNNER,
    Workdir,
    median,
    minimal_server,
    run_measured,
    run_runner,
    runner_env,
    say,
    verdict,
)

TARGETS = 100_000


def main() -> None:
    say(f"\n[5b, 5c] resources at {TARGETS:,} targets")
    work = Workdir()
    try:
        plan = work.plan(TARGETS)
        walls = []
        for r in range(ROUNDS):
            m = run_measured([*RUNNER, "validate", str(plan)])
            if m.rc != 0:
                raise RuntimeError(f"validate: exit {m.rc}: {m.stderr}")
            walls.append(m.wall)
            say(f"  validate, round {r + 1}: {m.wall:.2f} s, peak RSS {m.rss_mib:.0f} MiB")
        with minimal_server() as srv:
            m, doc = run_runner(
                plan, work.report(), runner_env(srv.url), "--rate", "0", "--concurrency", "64"
            )
        say(
            f"  run: exit {m.rc}, {doc['summary']['revoked']:,} revoked in "
            f"{doc['durationSeconds']:.1f} s, {m.wall:.1f} s end to end, {m.cpu:.1f} s CPU, "
            f"peak RSS {m.rss_mib:.0f} MiB"
        )
    finally:
        work.close()
    verdict(
        "5b peak RSS, 100k-target run",
        f"{m.rss_mib:.0f} MiB",
        "<= 150 MB",
        m.rss_mib * 1.048576 <= 150,
    )
    verdict("5c validate 100k targets", f"{median(walls):.2f} s", "<= 3 s", median(walls) <= 3)


if __name__ == "__main__":
    main()
