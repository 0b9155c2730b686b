"""The pure domain: timestamps, entries, summary, exit codes, expansion."""

from __future__ import annotations

import pytest

from runner.model import (
    Aborted,
    AbortReason,
    Attempt,
    AttemptError,
    DiscoverAll,
    Outcome,
    Summary,
    Target,
    TargetResult,
    exit_code_for,
    expand,
    parse_rfc3339_ms,
    rfc3339_ms,
)

F, G = "a" * 24, "b" * 24


def t(n: int, fed: str = F, label: str | None = None) -> Target:
    return Target(fed, f"{n:024x}", label=label)


def test_timestamps_have_milliseconds_and_z() -> None:
    assert rfc3339_ms(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339_ms(1.2349) == "1970-01-01T00:00:01.234Z"
    assert parse_rfc3339_ms("2026-12-03T16:00:00.125Z") == pytest.approx(1796313600.125)
    with pytest.raises(ValueError):
        parse_rfc3339_ms("2026-12-03T16:00:00.125+01:00")


def test_entry_round_trips_through_the_journal_form() -> None:
    r = TargetResult(
        target=Target(F, G, label="x", display_name="okta"),
        outcome=Outcome.FAILED,
        http_status=503,
        error_code="SERVICE_UNAVAILABLE",
        detail="busy",
        history=(
            Attempt(at=10.0, error=AttemptError.TIMEOUT, ms=30000.0),
            Attempt(at=41.5, http_status=503, error_code="SERVICE_UNAVAILABLE", ms=12.25),
        ),
        started_at=10.0,
        finished_at=41.6,
    )
    entry = r.to_entry()
    assert entry["attempts"] == 2 and entry["durationMs"] == 31600.0
    assert entry["history"][0] == {
        "at": "1970-01-01T00:00:10.000Z",
        "error": "timeout",
        "ms": 30000.0,
    }
    assert entry["displayName"] == "okta"
    back = TargetResult.from_entry(entry)
    assert back.to_entry() == entry


def test_not_attempted_entry_has_nulls_not_missing_keys() -> None:
    e = TargetResult(t(1), Outcome.NOT_ATTEMPTED).to_entry()
    assert e["startedAt"] is None and e["durationMs"] is None and e["history"] == []
    assert e["label"] is None and e["attempts"] == 0


@pytest.mark.parametrize(
    ("outcomes", "aborted", "code"),
    [
        ([Outcome.REVOKED, Outcome.SKIPPED], None, 0),
        ([Outcome.WOULD_REVOKE], None, 0),
        ([], None, 0),
        ([Outcome.REVOKED, Outcome.FAILED], None, 1),
        ([Outcome.REVOKED, Outcome.NOT_ATTEMPTED], Aborted(AbortReason.INTERRUPTED), 3),
        ([Outcome.FAILED], Aborted(AbortReason.UNAUTHORIZED), 3),
    ],
)
def test_exit_codes(outcomes: list[Outcome], aborted: Aborted | None, code: int) -> None:
    summary = Summary.of(TargetResult(t(i), o) for i, o in enumerate(outcomes))
    assert exit_code_for(summary, aborted) == code


def test_expand_keeps_the_first_of_each_pair_and_discovered_order() -> None:
    entries = [t(1, label="first"), DiscoverAll(F, label="all", line=4), t(1, label="again")]
    discovered = {F: [t(3), t(1), t(2)]}
    targets, warnings = expand(entries, discovered)
    assert [(x.identity_provider_id[-1], x.label) for x in targets] == [
        ("1", "first"), ("3", "all"), ("2", "all"),
    ]  # fmt: skip
    assert len(warnings) == 2
