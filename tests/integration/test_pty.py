"""The real CLI under a pseudo-terminal (the responder's view) and under a pipe (cron's)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from runner.simulator import Simulator, SimulatorConfig
from runner.simulator.data import bulk_plan_yaml

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    # Some latency and a few injected 500s, so the live view has something to show.
    return SimulatorConfig(seed=3, latency_ms=20, fail_rate=0.05)


def _plan(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(bulk_plan_yaml(n))
    return path


def test_live_view_on_a_terminal_asks_then_shows_progress_and_a_matching_summary(
    tmp_path: Path,
    atlas_env: dict[str, str],
    sim_thread: Simulator,
    validate_report: Callable[[dict[str, Any]], None],
) -> None:
    report = tmp_path / "r.json"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "runner", "run", str(_plan(tmp_path, 120)), "--report", str(report),
         "--rate", "40", "--concurrency", "8"],
        env={**atlas_env, "COLUMNS": "110", "TERM": "xterm-256color"},
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 110),
    )  # fmt: skip
    child.expect(r"Proceed\? \[y/N\]")
    assert sim_thread.requests("revoke") == [], "nothing may be revoked before the answer"
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before or ""
    assert child.exitstatus in (0, 1), screen
    data = json.loads(report.read_text())
    validate_report(data)
    assert "\x1b[" in screen, "a terminal gets the live view"
    plain = ANSI.sub("", screen)
    # The final summary table shows the report's figures.
    summary = data["summary"]
    for label, key in (("revoked", "revoked"), ("failed", "failed"), ("total", "total")):
        row = re.search(rf"(?im)^\W*{label}\W+(\d+)", plain)
        assert row is not None, f"no {label} row in the summary:\n{plain[-1500:]}"
        assert int(row.group(1)) == summary[key]
    assert child.exitstatus == data["exitCode"]


def test_answering_no_sends_nothing(
    tmp_path: Path, atlas_env: dict[str, str], sim_thread: Simulator
) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "runner", "run", str(_plan(tmp_path, 5)), "--report", str(tmp_path / "r.json")],
        env=atlas_env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect(r"Proceed\? \[y/N\]")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert sim_thread.requests("revoke") == []
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("extra", [[], ["--quiet"], ["--verbose"], ["--log-format", "json"]])
def test_without_a_terminal_output_has_no_escape_codes(
    tmp_path: Path, atlas_env: dict[str, str], extra: list[str]
) -> None:
    report = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(_plan(tmp_path, 30)), "--yes",
         "--rate", "0", "--report", str(report), *extra],
        env={**atlas_env, "TERM": "xterm-256color", "FORCE_COLOR": ""},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert "\x1b" not in proc.stderr and "\x1b" not in proc.stdout
    lines = proc.stderr.splitlines()
    data = json.loads(report.read_text())
    if extra == ["--log-format", "json"]:
        events = [json.loads(line) for line in lines]
        assert events and all(isinstance(e, dict) for e in events)
    elif extra == ["--quiet"]:
        # Only failures and the summary: never a line per revoked target.
        assert not any(line.startswith("revoked ") for line in lines)
    else:
        assert sum(line.startswith("revoked ") for line in lines) == data["summary"]["revoked"]
