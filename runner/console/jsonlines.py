"""``--log-format json``: one JSON object per event, per line, for log shippers.

Only ids, outcomes, statuses, error codes and details go out: never a header, token or key.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..model import Attempt, Outcome, RunRecord, Settings, Target, TargetResult, rfc3339_ms


def _ids(target: Target) -> dict[str, Any]:
    return {
        "federationSettingsId": target.federation_settings_id,
        "identityProviderId": target.identity_provider_id,
        "label": target.label,
    }


class JsonLines:
    """``quiet``: only failed targets and run-level events (start, pause, rate, finish)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        quiet: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._quiet = quiet
        self._clock = clock

    def _emit(self, event: str, **fields: Any) -> None:
        line = json.dumps(
            {"event": event, "time": rfc3339_ms(self._clock()), **fields},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(line + "\n")
            self._stream.flush()

    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None:
        self._emit("run_started", total=total, dryRun=dry_run, settings=settings.to_dict())

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None:
        if self._quiet:
            return
        self._emit("attempt_finished", **_ids(target), **attempt.to_dict(), willRetry=will_retry)

    def paused(self, until: float, reason: str) -> None:
        self._emit("paused", until=rfc3339_ms(until), reason=reason)

    def rate_changed(self, rate: float) -> None:
        self._emit("rate_changed", rate=rate)

    def target_finished(self, result: TargetResult) -> None:
        if self._quiet and result.outcome is not Outcome.FAILED:
            return
        entry = result.to_entry()
        # Each attempt has had its own line already; the count is enough here.
        del entry["history"]
        self._emit("target_finished", **entry)

    def run_finished(self, record: RunRecord) -> None:
        report = record.report_head()
        self._emit(
            "run_finished",
            summary=report["summary"],
            exitCode=report["exitCode"],
            aborted=report["aborted"],
            durationSeconds=report["durationSeconds"],
            effectiveRate=report["settings"]["effectiveRate"],
            dryRun=report["dryRun"],
        )

    def warning(self, message: str) -> None:
        self._emit("warning", message=message)

    def close(self) -> None:
        pass
