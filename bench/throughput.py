"""Benchmarks 1 and 5a: revoke-runner against a bare aiohttp loop, same server, same work.

A: ``revoke-runner run PLAN --rate 0 --concurrency 64`` (20,000 targets) as a child process.
B: ``python -m bench.bare_loop`` sending the same DELETEs with the same concurrency.
Alternated for ROUNDS rounds, in swapped order every other round, against one minimal server;
medians of each side, then ratios.
Throughput is targets per second of the run itself (the report's ``durationSeconds`` for A, the
loop's own clock for B); end-to-end figures (process start to exit) are printed beside them.
CPU is user + system seconds of each child, whole process, divided by the targets.
"""

from __future__ import annotations

import json

from ._common import (
    PYTHON,
    ROUNDS,
    Workdir,
    full_speed,
    in_turn,
    median,
    minimal_server,
    run_measured,
    run_runner,
    runner_env,
    say,
    verdict,
)

TARGETS = 20_000
CONCURRENCY = 64


def main() -> None:
    say(
        f"\n[1, 5a] throughput and CPU: {TARGETS:,} targets, concurrency {CONCURRENCY}, "
        f"{ROUNDS} rounds, A = revoke-runner, B = bare aiohttp loop"
    )
    work = Workdir()
    plan = work.plan(TARGETS)
    a_tput, b_tput, a_e2e, b_e2e, a_cpu, b_cpu = [], [], [], [], [], []
    try:
        with minimal_server() as srv:
            env = runner_env(srv.url)
            for r in range(ROUNDS):
                for side in in_turn(r, "A", "B"):
                    if side == "A":
                        m, doc = run_runner(plan, work.report(), env, *full_speed(CONCURRENCY))
                        revoked = doc["summary"]["revoked"]
                        if m.rc != 0 or revoked != TARGETS:
                            raise RuntimeError(
                                f"runner: exit {m.rc}, {revoked} revoked: {m.stderr}"
                            )
                        a_tput.append(TARGETS / doc["durationSeconds"])
                        a_e2e.append(TARGETS / m.wall)
                        a_cpu.append(m.cpu / TARGETS)
                    else:
                        b = run_measured(
                            [
                                PYTHON,
                                "-m",
                                "bench.bare_loop",
                                srv.url,
                                str(TARGETS),
                                str(CONCURRENCY),
                            ]
                        )
                        out = json.loads(b.stdout)
                        if b.rc != 0 or out["ok"] != TARGETS:
                            raise RuntimeError(f"bare loop: exit {b.rc}: {b.stderr}")
                        b_tput.append(TARGETS / out["seconds"])
                        b_e2e.append(TARGETS / b.wall)
                        b_cpu.append(b.cpu / TARGETS)
                say(
                    f"  round {r + 1}: A {a_tput[-1]:7.0f}/s ({a_e2e[-1]:6.0f}/s end to end, "
                    f"{a_cpu[-1] * 1e6:5.0f} us CPU/target)   B {b_tput[-1]:7.0f}/s "
                    f"({b_e2e[-1]:6.0f}/s end to end, {b_cpu[-1] * 1e6:5.0f} us CPU/target)"
                )
    finally:
        work.close()
    ratio = median(a_tput) / median(b_tput)
    # Each round's own A/B ratio too: the two sides of a round share the machine's mood, so their
    # spread shows how much of the headline figure is the machine.
    paired = sorted(a / b for a, b in zip(a_tput, b_tput, strict=True))
    say(
        f"  per-round A/B ratios: {', '.join(f'{x:.2f}' for x in paired)} "
        f"(median {median(paired):.2f})"
    )
    verdict(
        "1 throughput A/B",
        f"{ratio:.2f} ({median(a_tput):.0f}/s vs {median(b_tput):.0f}/s; "
        f"end to end {median(a_e2e) / median(b_e2e):.2f})",
        ">= 0.85",
        ratio >= 0.85,
    )
    cpu_ratio = median(a_cpu) / median(b_cpu)
    verdict(
        "5a CPU per target A/B",
        f"{cpu_ratio:.2f} ({median(a_cpu) * 1e6:.0f} us vs {median(b_cpu) * 1e6:.0f} us)",
        "<= 1.25",
        cpu_ratio <= 1.25,
    )


if __name__ == "__main__":
    main()
