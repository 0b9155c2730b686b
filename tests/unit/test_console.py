"""Terminal views, driven through the RunObserver calls the engine makes."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from runner.console import JsonLines, LiveView, PlainLines, View, make_view, summary_text
from runner.errors import UsageError
from runner.model import (
    Aborted,
    AbortReason,
    Attempt,
    AttemptError,
    Outcome,
    RunRecord,
    Settings,
    Target,
    TargetResult,
)

T0 = 1_796_313_600.0  # 2026-12-03T16:00:00Z
FED = "5d1113b25a115342acc2d1aa"
ESC_LABEL = "evil\x1b[2J\x1b]0;title\x07 label\nsecond line"


def idp(n: int) -> str:
    return f"32b6e34b3d91647abb{n:06x}"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


REVOKED = TargetResult(
    Target(FED, idp(1), "okta-prod"),
    Outcome.REVOKED,
    204,
    history=(Attempt(T0, 204, ms=41.2),),
    started_at=T0,
    finished_at=T0 + 0.0414,
)
FAILED = TargetResult(
    Target(FED, idp(2), ESC_LABEL),
    Outcome.FAILED,
    403,
    "USER_UNAUTHORIZED",
    "Current user is not authorized.\x1b[31m",
    history=(Attempt(T0, 503, ms=3.0), Attempt(T0 + 1, 403, error_code="USER_UNAUTHORIZED")),
    started_at=T0,
    finished_at=T0 + 1.25,
)
TIMED_OUT = TargetResult(
    Target(FED, idp(3), "with space"),
    Outcome.FAILED,
    detail="no answer",
    history=(Attempt(T0, error=AttemptError.TIMEOUT),),
    started_at=T0,
    finished_at=T0 + 30,
)
SKIPPED = TargetResult(Target(FED, idp(4)), Outcome.SKIPPED)
NOT_ATTEMPTED = TargetResult(Target(FED, idp(5), "later"), Outcome.NOT_ATTEMPTED)
RESULTS = (REVOKED, FAILED, TIMED_OUT, SKIPPED, NOT_ATTEMPTED)


def record(aborted: Aborted | None = None) -> RunRecord:
    return RunRecord(
        plan_path="plan.yaml",
        plan_sha256="0" * 64,
        base_url="https://cloud.mongodb.com",
        dry_run=False,
        settings=Settings(),
        effective_rate=5.0,
        started_at=T0,
        finished_at=T0 + 31.0,
        results=RESULTS,
        aborted=aborted,
    )


def drive(view: View) -> None:
    view.run_started(len(RESULTS), Settings(), False)
    view.attempt_finished(REVOKED.target, REVOKED.history[0], False)
    view.target_finished(REVOKED)
    view.attempt_finished(FAILED.target, FAILED.history[0], True)
    view.paused(T0 + 12, "429 RATE_LIMITED_TOKEN_BUCKET")
    view.rate_changed(2.0)
    view.attempt_finished(FAILED.target, FAILED.history[1], False)
    view.target_finished(FAILED)
    view.attempt_finished(TIMED_OUT.target, TIMED_OUT.history[0], False)
    view.target_finished(TIMED_OUT)
    view.target_finished(SKIPPED)
    view.target_finished(NOT_ATTEMPTED)
    view.warning("journal line 3 torn\x1b[0m")
    view.run_finished(record())


# --- plain lines


def test_plain_lines_one_line_per_target_and_a_summary() -> None:
    out = io.StringIO()
    drive(PlainLines(out, report_paths=["r.json", "r.md"], clock=Clock()))
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    lines = text.splitlines()
    assert lines[0] == "revoking 5 targets (concurrency 8, rate 5/s, max attempts 5)"
    assert f"revoked {FED}/{idp(1)} okta-prod (204, 1 attempt, 41 ms)" in lines
    failed = [line for line in lines if line.startswith("FAILED")]
    assert failed == [
        f'FAILED {FED}/{idp(2)} "evil\\x1b[2J\\x1b]0;title\\x07 label\\nsecond line" '
        "(403 USER_UNAUTHORIZED: Current user is not authorized.\\x1b[31m; 2 attempts, 1250 ms)",
        f'FAILED {FED}/{idp(3)} "with space" (timeout: no answer; 1 attempt, 30000 ms)',
    ]
    assert f"skipped {FED}/{idp(4)} (already revoked according to the journal)" in lines
    assert f"not attempted {FED}/{idp(5)} later (the run stopped early)" in lines
    assert "paused by API until 16:00:12Z (12 s): 429 RATE_LIMITED_TOKEN_BUCKET" in lines
    assert "rate lowered to 2/s (the API's token bucket refill rate)" in lines
    assert "warning: journal line 3 torn\\x1b[0m" in lines
    for result in RESULTS:
        assert sum(idp_line.count(result.target.identity_provider_id) for idp_line in lines) == 1
    assert lines[-3:] == [
        "5 targets: 1 revoked, 2 failed, 1 skipped, 1 not attempted in 31.0 s",
        "exit code 1: at least one target failed or was not attempted",
        "report: r.json, r.md",
    ]


def test_plain_lines_quiet_shows_only_failures_and_summary() -> None:
    out = io.StringIO()
    drive(PlainLines(out, quiet=True, verbose=True))
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["FAILED", "FAILED"]
    assert lines[2:] == [
        "warning: journal line 3 torn\\x1b[0m",
        "5 targets: 1 revoked, 2 failed, 1 skipped, 1 not attempted in 31.0 s",
        "exit code 1: at least one target failed or was not attempted",
    ]


def test_plain_lines_verbose_shows_retries() -> None:
    out = io.StringIO()
    drive(PlainLines(out, verbose=True))
    retries = [line for line in out.getvalue().splitlines() if line.startswith("retrying")]
    assert retries == [
        f'retrying {FED}/{idp(2)} "evil\\x1b[2J\\x1b]0;title\\x07 label\\nsecond line" after 503'
    ]


def test_plain_lines_survive_a_closed_stream() -> None:
    out = io.StringIO()
    view = PlainLines(out)
    out.close()
    drive(view)  # must not raise into the engine


def test_summary_text_for_an_aborted_dry_run() -> None:
    rec = record(aborted=Aborted(AbortReason.UNAUTHORIZED, "401 with a fresh token"))
    report = rec.to_report()
    report["dryRun"] = True
    report["settings"]["effectiveRate"] = 1.5
    assert summary_text(report, "out.json").splitlines() == [
        "dry run, 5 targets: 1 revoked, 2 failed, 1 skipped, 1 not attempted in 31.0 s",
        "rate lowered by the API to 1.5/s",
        "exit code 3: stopped early: credentials refused (401) (401 with a fresh token)",
        "report: out.json",
    ]


# --- JSON lines

ALLOWED_KEYS = {
    "event",
    "time",
    "total",
    "dryRun",
    "settings",
    "federationSettingsId",
    "identityProviderId",
    "label",
    "displayName",
    "at",
    "httpStatus",
    "error",
    "errorCode",
    "ms",
    "willRetry",
    "until",
    "reason",
    "rate",
    "outcome",
    "detail",
    "attempts",
    "startedAt",
    "finishedAt",
    "durationMs",
    "summary",
    "exitCode",
    "aborted",
    "durationSeconds",
    "effectiveRate",
    "message",
}


def test_json_lines_one_object_per_event() -> None:
    out = io.StringIO()
    drive(JsonLines(out, clock=Clock()))
    text = out.getvalue()
    assert "\x1b" not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["event"] for e in events] == [
        "run_started",
        "attempt_finished",
        "target_finished",
        "attempt_finished",
        "paused",
        "rate_changed",
        "attempt_finished",
        "target_finished",
        "attempt_finished",
        "target_finished",
        "target_finished",
        "target_finished",
        "warning",
        "run_finished",
    ]
    for e in events:
        assert set(e) <= ALLOWED_KEYS, set(e) - ALLOWED_KEYS
        assert e["time"] == "2026-12-03T16:00:00.000Z"
    retry = events[3]
    assert retry["willRetry"] is True and retry["httpStatus"] == 503
    assert retry["identityProviderId"] == idp(2) and retry["label"] == ESC_LABEL
    failed = events[7]
    assert (failed["outcome"], failed["httpStatus"], failed["errorCode"], failed["attempts"]) == (
        "failed",
        403,
        "USER_UNAUTHORIZED",
        2,
    )
    assert "history" not in failed
    assert events[4]["until"] == "2026-12-03T16:00:12.000Z"
    assert events[-1]["summary"] == record().summary.to_dict()
    assert events[-1]["exitCode"] == 1


def test_json_lines_quiet() -> None:
    out = io.StringIO()
    drive(JsonLines(out, quiet=True))
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == [
        "run_started",
        "paused",
        "rate_changed",
        "target_finished",
        "target_finished",
        "warning",
        "run_finished",
    ]
    assert {e["outcome"] for e in events if e["event"] == "target_finished"} == {"failed"}


# --- live view


def plain(console: Console) -> str:
    out = console.file
    assert isinstance(out, io.StringIO)
    return Text.from_ansi(out.getvalue()).plain


def live(clock: Clock, **kw: Any) -> tuple[LiveView, Console]:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    return LiveView(console, clock=clock, refresh_per_second=1, **kw), console


def test_live_view_counts_rate_eta_and_pause() -> None:
    clock = Clock()
    view, console = live(clock)
    view.run_started(20, Settings(), False)
    for i in range(10):
        clock.now = T0 + i * 0.5
        view.attempt_finished(Target(FED, idp(100 + i)), Attempt(clock.now, 204), False)
        view.target_finished(
            TargetResult(Target(FED, idp(100 + i)), Outcome.REVOKED, 204, started_at=T0)
        )
    view.attempt_finished(Target(FED, idp(200)), Attempt(clock.now, 503), True)
    clock.now = T0 + 5
    view.refresh()
    frame = "\n".join(plain(console).splitlines()[-2:])
    assert "10/20" in frame
    assert "10 revoked" in frame and "0 failed" in frame
    assert "1 retrying" in frame and "10 remaining" in frame
    # 11 requests in the last 5 s; 10 targets done in 5 s, so 10 more take 5 s.
    assert "2.2 req/s" in frame and "ETA 0:00:05" in frame

    view.paused(T0 + 17, "429 RATE_LIMITED")
    view.refresh()
    assert "paused by API until 16:00:17Z (12 s): 429 RATE_LIMITED" in plain(console)
    clock.now = T0 + 18
    view.refresh()
    assert "paused by API" not in "\n".join(plain(console).splitlines()[-3:])
    view.close()
    view.close()


def test_live_view_prints_failures_and_final_summary() -> None:
    clock = Clock()
    view, console = live(clock, report_paths=["r.json"])
    drive(view)
    raw = console.file.getvalue()  # type: ignore[attr-defined]
    # The label's own escape sequences never reach the terminal.
    assert "\x1b[2J" not in raw and "\x1b]0;" not in raw
    text = plain(console)
    assert f"FAILED {FED}/{idp(2)}" in text
    assert "(timeout: no answer; 1 attempt, 30000 ms)" in text
    assert "warning: journal line 3 torn\\x1b[0m" in text
    assert f"revoked {FED}/{idp(1)}" not in text  # successes are counted, not listed
    summary = record().summary.to_dict()
    words = {
        "revoked": "revoked",
        "failed": "failed",
        "skipped": "skipped",
        "notAttempted": "not attempted",
        "wouldRevoke": "would revoke",
        "total": "total",
    }
    table = text[text.index("revoke-runner summary") :]
    for key, word in words.items():
        m = re.search(rf"│ {word}\s+│\s+(\d+) │", table)
        assert m is not None, word
        assert int(m.group(1)) == summary[key], word
    assert "exit code 1: at least one target failed or was not attempted" in table
    assert "report: r.json" in table


# --- factory


def test_make_view_picks_the_view() -> None:
    out = io.StringIO()
    common: dict[str, Any] = {"stream": out, "verbose": False}
    assert isinstance(
        make_view(is_terminal=True, quiet=False, log_format="json", **common), JsonLines
    )
    assert isinstance(
        make_view(is_terminal=True, quiet=False, log_format="text", **common), LiveView
    )
    assert isinstance(
        make_view(is_terminal=False, quiet=False, log_format="text", **common), PlainLines
    )
    assert isinstance(
        make_view(is_terminal=True, quiet=True, log_format="text", **common), PlainLines
    )
    with pytest.raises(
        UsageError, match="--log-format: unknown format 'xml'; choose from text, json"
    ):
        make_view(is_terminal=False, quiet=False, log_format="xml", **common)
