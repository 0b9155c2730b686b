"""Words shared by the terminal views: one line per result, the end-of-run summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..model import Outcome, Target, TargetResult
from ..reports._text import SUMMARY_ROWS, exit_meaning, one_line


def target_text(target: Target) -> str:
    """``fed/idp label``: the label quoted when it would blur into the words around it."""
    name = target.label or target.display_name or ""
    text = str(target)
    if not name:
        return text
    name = one_line(name)
    if any(c.isspace() for c in name) or any(c in name for c in "\"'()"):
        name = '"' + name.replace('"', '\\"') + '"'
    return f"{text} {name}"


def status_text(result: TargetResult) -> str:
    """``403 USER_UNAUTHORIZED: detail``, or the transport error when there was no answer."""
    if result.http_status is not None:
        text = str(result.http_status)
    elif result.history and result.history[-1].error is not None:
        text = str(result.history[-1].error)
    else:
        text = "no answer"
    if result.error_code:
        text += f" {result.error_code}"
    if result.detail:
        text += f": {one_line(result.detail)}"
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _ms(result: TargetResult) -> str:
    ms = result.duration_ms
    return "" if ms is None else f", {ms:.0f} ms"


def result_line(result: TargetResult) -> str:
    """One finished target, e.g. ``revoked fed/idp okta-prod (204, 1 attempt, 41 ms)``."""
    who = target_text(result.target)
    match result.outcome:
        case Outcome.REVOKED:
            attempts = _plural(result.attempts, "attempt")
            return f"revoked {who} ({result.http_status}, {attempts}{_ms(result)})"
        case Outcome.FAILED:
            return (
                f"FAILED {who} ({status_text(result)}; "
                f"{_plural(result.attempts, 'attempt')}{_ms(result)})"
            )
        case Outcome.SKIPPED:
            return f"skipped {who} (already revoked according to the journal)"
        case Outcome.NOT_ATTEMPTED:
            return f"not attempted {who} (the run stopped early)"
        case Outcome.WOULD_REVOKE:
            return f"would revoke {who} (dry run)"
    return f"{result.outcome} {who}"  # pragma: no cover - Outcome is exhaustive above


def clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%SZ")


def paused_text(until: float, now: float, reason: str) -> str:
    text = f"paused by API until {clock_text(until)} ({max(0.0, until - now):.0f} s)"
    return f"{text}: {one_line(reason)}" if reason else text


def rate_text(rate: float) -> str:
    return f"{rate:g}/s"


def summary_text(report: Mapping[str, Any], report_paths: Sequence[str] | str | None = None) -> str:
    """The short human summary of a finished run, from its report dict (no trailing newline).

    ``report_paths`` are the files written (JSON first); they end the summary.
    """
    summary: Mapping[str, Any] = report.get("summary") or {}
    total = int(summary.get("total", 0))
    counts = [f"{summary.get(key)} {word}" for key, word in SUMMARY_ROWS if summary.get(key)]
    head = f"{_plural(total, 'target')}: {', '.join(counts)}" if counts else "no targets"
    if report.get("dryRun"):
        head = "dry run, " + head
    duration = report.get("durationSeconds")
    if duration is not None:
        head += f" in {float(duration):.1f} s"
    lines = [head]
    settings = report.get("settings") or {}
    if settings.get("effectiveRate") not in (None, settings.get("rate")):
        lines.append(f"rate lowered by the API to {rate_text(float(settings['effectiveRate']))}")
    outcome = f"exit code {report.get('exitCode')}: {exit_meaning(report)}"
    aborted = report.get("aborted")
    if isinstance(aborted, Mapping) and aborted.get("detail"):
        outcome += f" ({one_line(str(aborted['detail']))})"
    lines.append(outcome)
    paths = [report_paths] if isinstance(report_paths, str) else list(report_paths or ())
    if paths:
        lines.append("report: " + ", ".join(paths))
    return "\n".join(lines)
