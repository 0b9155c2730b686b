"""`make demo`: start the bundled simulator, revoke sample_plans/demo.yaml against it, show the
summary and where the report is. Everything runs on loopback; nothing reaches Atlas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".demo"


def start_simulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    sim = subprocess.Popen(
        [sys.executable, "-m", "runner", "simulate", "--port", "0", "--seed", "7"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert sim.stdout is not None
    first = sim.stdout.readline().strip()
    if not first.startswith("listening on "):
        sim.kill()
        raise SystemExit(f"demo: the simulator did not start (it said {first!r})")
    env = {"MONGODB_ATLAS_BASE_URL": first.removeprefix("listening on ")}
    # Then `export NAME=value` lines: the simulator's own throwaway credentials. The demo uses
    # its service account.
    wanted = {"MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"}
    while not wanted <= env.keys():
        line = sim.stdout.readline()
        if not line:
            sim.kill()
            raise SystemExit("demo: the simulator stopped before printing its credentials")
        if line.startswith("export "):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            env[name] = value.strip("'\"")
    return sim, env


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("demo-report*"):
        old.unlink()
    sim, sim_env = start_simulator()
    print(f"demo: simulator at {sim_env['MONGODB_ATLAS_BASE_URL']} (loopback only)", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_ATLAS_")}
    env.update(sim_env)
    try:
        steps = [
            ["validate", "sample_plans/demo.yaml"],
            [
                "run",
                "sample_plans/demo.yaml",
                "--yes",
                "--report",
                str(OUT / "demo-report.json"),
                "--format",
                "md,csv,junit",
            ],
        ]
        code = 0
        for step in steps:
            print(f"\n$ revoke-runner {' '.join(step)}", flush=True)
            code = subprocess.call([sys.executable, "-m", "runner", *step], env=env, cwd=ROOT)
            if code not in (0, 1):
                return code
        print(f"\ndemo: reports in {OUT.relative_to(ROOT)}/ (exit code {code})")
        # The demo plan includes a federation where the caller is not Org Owner: exit 1 there is
        # the demo working, not failing.
        return 0
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
