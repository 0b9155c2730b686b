"""Benchmark 2: revoke-runner against ``xargs -P 64 curl``, the common shell alternative.

Same minimal server, same concurrency, alternated over ROUNDS rounds. revoke-runner makes the
run of benchmark 1 (TARGETS). curl forks one process per DELETE, at a steady ~140/s here, so it
gets fewer targets (CURL_TARGETS) to stay inside the time budget; the figure is targets per
second end to end (process start to exit) for both sides, since a shell loop has no other clock.
"""

from __future__ import annotations

from runner.simulator.data import BULK_FED, bulk_idp_ids

from ._common import (
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
CURL_TARGETS = 1_000
CONCURRENCY = 64


def main() -> None:
    say(
        f"\n[2] versus xargs -P {CONCURRENCY} curl: revoke-runner {TARGETS:,} targets, curl "
        f"{CURL_TARGETS:,} targets, {ROUNDS} rounds, end-to-end targets/s"
    )
    work = Workdir()
    plan = work.plan(TARGETS)
    a, b = [], []
    try:
        with minimal_server() as srv:
            env = runner_env(srv.url)
            urls = "".join(
                f"{srv.url}/api/atlas/v2/federationSettings/{BULK_FED}/identityProviders/{i}/jwks\n"
                for i in bulk_idp_ids(CURL_TARGETS)
            )
            curl = [
                "xargs", "-P", str(CONCURRENCY), "-n", "1", "curl", "-s", "-o", "/dev/null",
                "-X", "DELETE", "-H", "Authorization: Bearer bench-token",
                "-H", "Accept: application/vnd.atlas.2023-11-15+json",
            ]  # fmt: skip
            for r in range(ROUNDS):
                for side in in_turn(r, "runner", "curl"):
                    if side == "runner":
                        m, _ = run_runner(plan, work.report(), env, *full_speed(CONCURRENCY))
                        if m.rc != 0:
                            raise RuntimeError(f"runner: exit {m.rc}: {m.stderr}")
                        a.append(TARGETS / m.wall)
                    else:
                        c = run_measured(curl, stdin=urls)
                        if c.rc != 0:
                            raise RuntimeError(f"xargs curl: exit {c.rc}: {c.stderr}")
                        b.append(CURL_TARGETS / c.wall)
                say(f"  round {r + 1}: revoke-runner {a[-1]:6.0f}/s   xargs curl {b[-1]:6.0f}/s")
    finally:
        work.close()
    ratio = median(a) / median(b)
    verdict(
        "2 versus xargs curl",
        f"{ratio:.1f}x ({median(a):.0f}/s vs {median(b):.0f}/s)",
        ">= 20x",
        ratio >= 20,
    )


if __name__ == "__main__":
    main()
