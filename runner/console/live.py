"""The live terminal view: a progress bar with counts, rate, ETA and the API's pauses.

Rich redraws from its own thread, so the counters live behind a lock that both the engine's
calls and the redraws take.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ..model import Attempt, Outcome, RunRecord, Settings, Target, TargetResult
from ..reports._text import SUMMARY_ROWS, exit_meaning, one_line
from ._text import paused_text, rate_text, result_line, target_text


def _clock_span(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class _State:
    def __init__(self, clock: Callable[[], float], window: float) -> None:
        self.clock = clock
        self.window = window
        self.lock = threading.Lock()
        self.total = 0
        self.dry_run = False
        self.started = clock()
        self.counts = dict.fromkeys(Outcome, 0)
        self.retrying: set[tuple[str, str]] = set()
        self.requests: deque[float] = deque()
        self.finishes: deque[float] = deque()
        self.paused_until: float | None = None
        self.pause_reason = ""

    def _trim(self, now: float) -> None:
        for q in (self.requests, self.finishes):
            while q and q[0] < now - self.window:
                q.popleft()

    def _per_second(self, q: deque[float], now: float) -> float:
        self._trim(now)
        # Early in the run the window is mostly empty time; one second at least keeps the first
        # answers from reading as a burst.
        span = min(self.window, max(1.0, now - self.started))
        return len(q) / span

    def status(self) -> Text:
        with self.lock:
            done = sum(self.counts.values())
            remaining = max(0, self.total - done)
            parts = [
                (
                    "would revoke" if self.dry_run else "revoked",
                    Outcome.WOULD_REVOKE if self.dry_run else Outcome.REVOKED,
                    "green",
                ),
                ("failed", Outcome.FAILED, "red"),
            ]
            text = Text()
            for word, outcome, style in parts:
                n = self.counts[outcome]
                text.append(f"{n} {word}", style=style if n else "dim")
                text.append("  ")
            text.append(
                f"{len(self.retrying)} retrying", style="yellow" if self.retrying else "dim"
            )
            text.append(f"  {remaining} remaining")
            return text

    def lines(self) -> RenderableType:
        """Counts and request rate under the bar; the API's pause, when on, on a line of its own."""
        text = self.status()
        with self.lock:
            now = self.clock()
            text.append(f"  {self._per_second(self.requests, now):.1f} req/s")
            text.no_wrap, text.overflow = True, "ellipsis"
            if self.paused_until is None or now >= self.paused_until:
                return text
            pause = Text(
                paused_text(self.paused_until, now, self.pause_reason),
                style="bold yellow",
                no_wrap=True,
                overflow="ellipsis",
            )
            return Group(text, pause)

    def eta(self) -> Text:
        with self.lock:
            now = self.clock()
            remaining = max(0, self.total - sum(self.counts.values()))
            finishing = self._per_second(self.finishes, now)
            if remaining == 0:
                return Text("ETA " + _clock_span(0))
            if finishing <= 0:
                return Text("ETA -:--:--", style="dim")
            wait = max(0.0, (self.paused_until or 0.0) - now)
            return Text("ETA " + _clock_span(wait + remaining / finishing))


class _Column(ProgressColumn):
    def __init__(self, render: Callable[[], RenderableType]) -> None:
        super().__init__()
        self._render = render

    def render(self, task: Task) -> RenderableType:
        return self._render()


class _Progress(Progress):
    """A progress bar with a line of counts under it, so neither is squeezed on 80 columns."""

    def __init__(self, line: Callable[[], RenderableType], *args: Any, **kwargs: Any) -> None:
        self._line = line  # before Progress.__init__, which renders once already
        super().__init__(*args, **kwargs)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield self._line()


class LiveView:
    """Rich progress on a terminal; failures appear above the bar as they happen."""

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        report_paths: Sequence[str] = (),
        refresh_per_second: float = 4.0,
        clock: Callable[[], float] = time.time,
        window: float = 10.0,
    ) -> None:
        self.console = console
        self._verbose = verbose
        self._report_paths = list(report_paths)
        self._state = _State(clock, window)
        self._progress = _Progress(
            self._state.lines,
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            _Column(self._state.eta),
            console=console,
            refresh_per_second=refresh_per_second,
            # Writes to stdout during a run are the CLI's business; stderr lines (warnings) are
            # drawn above the bar instead of through it.
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._task: TaskID | None = None
        self._running = False

    def _print(self, text: Text) -> None:
        # A view must never break the run: a line it cannot draw is lost, not raised.
        with contextlib.suppress(Exception):
            self._progress.console.print(text, highlight=False, soft_wrap=True)

    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None:
        st = self._state
        with st.lock:
            st.total = total
            st.dry_run = dry_run
            st.started = st.clock()
        self._task = self._progress.add_task("dry run" if dry_run else "revoking", total=total)
        self._progress.start()
        self._running = True

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None:
        st = self._state
        with st.lock:
            st.requests.append(st.clock())
            if will_retry:
                st.retrying.add(target.key)
            else:
                st.retrying.discard(target.key)
        if self._verbose and will_retry:
            got = (
                str(attempt.http_status) if attempt.http_status is not None else str(attempt.error)
            )
            if attempt.error_code:
                got += f" {attempt.error_code}"
            self._print(Text(f"retrying {target_text(target)} after {got}", style="yellow"))

    def paused(self, until: float, reason: str) -> None:
        st = self._state
        with st.lock:
            st.paused_until = max(until, st.paused_until or 0.0)
            st.pause_reason = reason
        if self._verbose:
            self._print(Text(paused_text(until, st.clock(), reason), style="yellow"))

    def rate_changed(self, rate: float) -> None:
        self._print(
            Text(
                f"rate lowered to {rate_text(rate)} (the API's token bucket refill rate)",
                style="yellow",
            )
        )

    def target_finished(self, result: TargetResult) -> None:
        st = self._state
        with st.lock:
            st.counts[result.outcome] += 1
            st.retrying.discard(result.target.key)
            if result.outcome is not Outcome.SKIPPED:
                st.finishes.append(st.clock())
        if self._task is not None:
            self._progress.advance(self._task)
        if result.outcome is Outcome.FAILED:
            self._print(Text(result_line(result), style="red"))
        elif self._verbose:
            self._print(Text(result_line(result)))

    def run_finished(self, record: RunRecord) -> None:
        self.close()
        report = record.report_head()
        table = Table(title="revoke-runner summary", title_justify="left")
        table.add_column("outcome")
        table.add_column("targets", justify="right")
        summary = report["summary"]
        for key, word in SUMMARY_ROWS:
            table.add_row(
                word, str(summary[key]), style="red" if key == "failed" and summary[key] else None
            )
        table.add_section()
        table.add_row("total", str(summary["total"]), style="bold")
        self.console.print(table)
        lines = [f"duration {report['durationSeconds']} s"]
        settings = report["settings"]
        if settings["effectiveRate"] != settings["rate"]:
            lines.append(
                f"rate lowered by the API to {rate_text(float(settings['effectiveRate']))}"
            )
        outcome = f"exit code {report['exitCode']}: {exit_meaning(report)}"
        if report["aborted"] and report["aborted"].get("detail"):
            outcome += f" ({report['aborted']['detail']})"
        lines.append(outcome)
        if self._report_paths:
            lines.append("report: " + ", ".join(self._report_paths))
        for line in lines:
            self.console.print(Text(line), highlight=False)

    def warning(self, message: str) -> None:
        self._print(Text(f"warning: {one_line(message)}", style="yellow"))

    def refresh(self) -> None:
        """Redraw now rather than at the next tick (tests, and after a burst of events)."""
        if self._running:
            self._progress.refresh()

    def close(self) -> None:
        """Stop the display (idempotent): the CLI calls it if the run ends without run_finished."""
        if self._running:
            self._running = False
            self._progress.stop()
