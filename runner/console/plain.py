"""Plain lines for cron, CI and pipes: no escape codes, at most one line per finished target."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from ..model import Attempt, Outcome, RunRecord, Settings, Target, TargetResult
from ..reports._text import one_line
from ._text import paused_text, rate_text, result_line, summary_text, target_text


class PlainLines:
    """``quiet``: failures and the final summary only. ``verbose``: also each retried attempt."""

    def __init__(
        self,
        stream: TextIO,
        *,
        quiet: bool = False,
        verbose: bool = False,
        report_paths: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._quiet = quiet
        self._verbose = verbose and not quiet
        self._report_paths = list(report_paths)
        self._clock = clock
        self._max_attempts: int | None = None

    def _write(self, line: str) -> None:
        # An observer must never raise into the engine: a closed or broken stderr loses the line.
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(line + "\n")
            self._stream.flush()

    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None:
        self._max_attempts = settings.max_attempts
        if self._quiet:
            return
        limit = "no rate limit" if settings.rate == 0 else f"rate {rate_text(settings.rate)}"
        how = f"concurrency {settings.concurrency}, {limit}, max attempts {settings.max_attempts}"
        if dry_run:
            self._write(f"dry run: {total} targets, no DELETE will be sent")
        else:
            self._write(f"revoking {total} targets ({how})")

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None:
        if not (self._verbose and will_retry):
            return
        got = str(attempt.http_status) if attempt.http_status is not None else str(attempt.error)
        if attempt.error_code:
            got += f" {attempt.error_code}"
        self._write(f"retrying {target_text(target)} after {got}")

    def paused(self, until: float, reason: str) -> None:
        if not self._quiet:
            self._write(paused_text(until, self._clock(), reason))

    def rate_changed(self, rate: float) -> None:
        if not self._quiet:
            self._write(f"rate lowered to {rate_text(rate)} (the API's token bucket refill rate)")

    def target_finished(self, result: TargetResult) -> None:
        if self._quiet and result.outcome is not Outcome.FAILED:
            return
        self._write(result_line(result))

    def run_finished(self, record: RunRecord) -> None:
        self._write(summary_text(record.report_head(), self._report_paths))

    def warning(self, message: str) -> None:
        self._write(f"warning: {one_line(message)}")

    def close(self) -> None:
        pass
