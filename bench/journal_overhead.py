"""Benchmark: what the journal costs a run (issue 3: it should cost under 10% of throughput).

A 2,000-target run (``--rate 0 --concurrency 64``) against the minimal server, in this process
through ``runner.app.execute`` (what ``revoke-runner run`` calls), with the journal on and off.
The product always journals a real run and has no switch to stop it, so "off" is made here, and
only here: ``runner.app.JournalWriter`` is replaced for that run by a stand-in that opens no file,
so the header's write and fsync, the one ``write`` per finished target, the background group
fsyncs and the final fsync all disappear, and nothing else changes (same plan, server, pool,
locks, report). The two variants alternate, in swapped order every other round, after one
warm-up pair; the figures are medians.

Printed: targets/s of the run itself (from its first to its last moment, the journal's open and
final sync included) and of the whole ``execute`` call; the journal's own time on the event loop
per target (measured inside ``JournalObserver.target_finished``); the number of fsyncs.

``python -m bench.journal_overhead`` runs it alone; ``main() -> int`` is the entry point
(0 when the overhead is under 10%, else 1).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from unittest import mock

import anyio

from runner import app
from runner.config import RunRequest
from runner.events import NullObserver
from runner.journal import JournalObserver, JournalWriter
from runner.model import TargetResult

from ._common import ROUNDS, Workdir, median, minimal_server, runner_env, say, verdict

TARGETS = 2_000
CONCURRENCY = 64
GOAL = 0.10  # the journal may cost at most this share of throughput


@dataclass(frozen=True, slots=True)
class Round:
    run_tput: float  # targets per second, the run's own start to its end (journal closed)
    e2e_tput: float  # targets per second, the whole execute() call (plan load, report write)
    loop_us: float  # CPU of the event loop's thread per target, the whole execute() call
    journal_us: float  # microseconds per target spent writing journal lines on the loop
    syncs: int


class _NoJournal:
    """Stands in for JournalWriter: the run goes exactly as before, minus every journal I/O."""

    @classmethod
    def open(cls, *args: Any, **kwargs: Any) -> nullcontext[None]:
        return nullcontext()


class _NoJournalObserver(NullObserver):
    def __init__(self, writer: object, on_error: object = None) -> None:
        pass


class _Probe:
    """Wraps the real journal classes to time their work; counts what the writers did."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.syncs = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        probe = self
        real_append = JournalObserver.target_finished
        real_close = JournalWriter.close

        def timed(observer: JournalObserver, result: TargetResult) -> None:
            t0 = time.perf_counter()
            real_append(observer, result)
            probe.seconds += time.perf_counter() - t0

        def counted_close(writer: JournalWriter) -> None:
            real_close(writer)
            probe.syncs += writer.syncs

        with (
            mock.patch.object(JournalObserver, "target_finished", timed),
            mock.patch.object(JournalWriter, "close", counted_close),
        ):
            yield


def _one(work: Workdir, env: dict[str, str], journal: bool) -> Round:
    plan = work.plan(TARGETS)
    report = work.report()
    req = RunRequest(
        plan_path=str(plan),
        report_path=str(report),
        overrides={"rate": 0, "concurrency": CONCURRENCY},
        assume_yes=True,
    )
    probe = _Probe()
    if journal:
        patches: Any = probe.installed()
    else:
        patches = _patched_off()
    with patches:
        t0, c0 = time.perf_counter(), time.thread_time()
        record = anyio.run(lambda: app.execute(req, env=env, observer=NullObserver()))
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    summary = record.summary
    if record.exit_code != 0 or summary.revoked != TARGETS:
        raise RuntimeError(f"run failed: exit {record.exit_code}, {summary.revoked} revoked")
    journal_path = report.with_name(report.stem + ".journal.jsonl")
    if journal and not journal_path.exists():
        raise RuntimeError(f"the journal-on run wrote no journal at {journal_path}")
    if not journal and journal_path.exists():
        raise RuntimeError(f"the journal-off run wrote a journal at {journal_path}")
    report.unlink()
    journal_path.unlink(missing_ok=True)
    return Round(
        run_tput=TARGETS / (record.finished_at - record.started_at),
        e2e_tput=TARGETS / wall,
        loop_us=cpu / TARGETS * 1e6,
        journal_us=probe.seconds / TARGETS * 1e6,
        syncs=probe.syncs,
    )


@contextmanager
def _patched_off() -> Iterator[None]:
    with (
        mock.patch.object(app, "JournalWriter", _NoJournal),
        mock.patch.object(app, "JournalObserver", _NoJournalObserver),
    ):
        yield


def main() -> int:
    rounds = max(ROUNDS, 9)
    say(
        f"\n[journal] journal on vs off: {TARGETS:,} targets, --rate 0 --concurrency "
        f"{CONCURRENCY}, {rounds} rounds alternating (after a warm-up pair), in process"
    )
    work = Workdir()
    on: list[Round] = []
    off: list[Round] = []
    try:
        with minimal_server() as srv:
            env = runner_env(srv.url)
            _one(work, env, True)
            _one(work, env, False)
            for r in range(rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                for journal in order:
                    (on if journal else off).append(_one(work, env, journal))
                a, b = on[-1], off[-1]
                say(
                    f"  round {r + 1}: on {a.run_tput:5.0f}/s ({a.e2e_tput:5.0f}/s end to end, "
                    f"loop {a.loop_us:4.0f} us/target, of which journal {a.journal_us:4.1f} us; "
                    f"{a.syncs} fsyncs)   off {b.run_tput:5.0f}/s ({b.e2e_tput:5.0f}/s "
                    f"end to end, loop {b.loop_us:4.0f} us/target)"
                )
    finally:
        work.close()
    on_tput = median([x.run_tput for x in on])
    off_tput = median([x.run_tput for x in off])
    on_e2e = median([x.e2e_tput for x in on])
    off_e2e = median([x.e2e_tput for x in off])
    on_cpu = median([x.loop_us for x in on])
    off_cpu = median([x.loop_us for x in off])
    cost = 1 - on_tput / off_tput
    verdict(
        "journal overhead",
        f"{cost * 100:+.1f}% throughput ({on_tput:.0f}/s on vs {off_tput:.0f}/s off; end to end "
        f"{(1 - on_e2e / off_e2e) * 100:+.1f}%; loop CPU/target {on_cpu:.0f} vs {off_cpu:.0f} "
        f"us, "
        f"{(on_cpu / off_cpu - 1) * 100:+.1f}%; journal lines "
        f"{median([x.journal_us for x in on]):.1f} us/target on the loop)",
        f"< {GOAL * 100:.0f}%",
        cost < GOAL,
    )
    return 0 if cost < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
