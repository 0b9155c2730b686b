"""What every benchmark shares: child processes measured one by one, plans, medians, verdicts."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.simulator.data import bulk_plan_yaml

PYTHON = sys.executable
RUNNER = [PYTHON, "-m", "runner"]
ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


@dataclass(frozen=True, slots=True)
class Measured:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB."""

    rc: int
    wall: float
    cpu: float
    rss_mib: float
    stdout: str
    stderr: str


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> Measured:
    """Run ``argv`` to its end; wait4 gives this child's own rusage, peak RSS included."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else None,
            cwd=ROOT,
        )
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            rc=proc.returncode,
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


@dataclass
class Server:
    """A server in its own process; ``url`` from its ``listening on`` line."""

    proc: subprocess.Popen[str]
    url: str
    env_lines: dict[str, str] = field(default_factory=dict)


@contextmanager
def server(argv: Sequence[str], *, exports: int = 0) -> Iterator[Server]:
    """Start ``argv``, read ``listening on URL`` and then ``exports`` lines of ``export K=V``."""
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("listening on "):
            raise RuntimeError(f"{argv[0]}: expected 'listening on URL', got {first!r}")
        srv = Server(proc, first.split()[2])
        while len(srv.env_lines) < exports:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{argv[0]}: ended before printing its credentials")
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                srv.env_lines[key] = value
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def minimal_server() -> Iterator[Server]:
    with server([PYTHON, "-m", "bench.server"]) as srv:
        yield srv


def runner_env(base_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a runner child: the given base URL and a service account."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MONGODB_ATLAS_") and k != "SSL_CERT_FILE"
    }
    env.update(
        MONGODB_ATLAS_BASE_URL=base_url,
        MONGODB_ATLAS_CLIENT_ID="bench-id",
        MONGODB_ATLAS_CLIENT_SECRET="bench-secret",
    )
    if extra:
        env.update(extra)
    return env


class Workdir:
    """A temporary folder for plans and reports, removed at the end."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="revoke-bench-")
        self.path = Path(self._tmp.name)
        self._n = 0

    def plan(self, count: int) -> Path:
        path = self.path / f"plan-{count}.yaml"
        if not path.exists():
            path.write_text(bulk_plan_yaml(count))
        return path

    def report(self) -> Path:
        self._n += 1
        return self.path / f"report-{self._n}.json"

    def close(self) -> None:
        self._tmp.cleanup()


def run_runner(
    plan: Path, report: Path, env: Mapping[str, str], *options: str
) -> tuple[Measured, dict[str, Any]]:
    """``revoke-runner run PLAN --yes --quiet --report R OPTIONS``; the child and its report."""
    m = run_measured(
        [*RUNNER, "run", str(plan), "--yes", "--quiet", "--report", str(report), *options], env=env
    )
    if not report.exists():
        raise RuntimeError(f"revoke-runner wrote no report (exit {m.rc}): {m.stderr.strip()}")
    doc: dict[str, Any] = json.loads(report.read_text())
    report.unlink()
    journal = report.with_name(report.stem + ".journal.jsonl")
    journal.unlink(missing_ok=True)
    return m, doc


def full_speed(concurrency: int) -> tuple[str, ...]:
    """The options of an unthrottled run: no client rate, ``concurrency`` workers."""
    return ("--rate", "0", "--concurrency", str(concurrency))


def in_turn(round_index: int, first: str, second: str) -> tuple[str, str]:
    """The two sides of a round, in swapped order every other round: whichever side runs second
    inherits the first one's aftermath (processes to reap, sockets in TIME_WAIT, a warm cache),
    so neither side always does."""
    return (first, second) if round_index % 2 == 0 else (second, first)


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    figure: str
    goal: str
    met: bool


VERDICTS: list[Verdict] = []


def verdict(name: str, figure: str, goal: str, met: bool) -> None:
    VERDICTS.append(Verdict(name, figure, goal, met))
    print(f"  => {name}: {figure}   goal {goal}   {'MET' if met else 'MISSED'}", flush=True)


def say(text: str) -> None:
    print(text, flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
