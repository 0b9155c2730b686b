"""The domain: targets, attempts, per-target results and the report. Pure: no I/O, no clock.

Pipeline: plan -> targets -> engine -> TargetResult per target -> journal / report.
A TargetResult's ``to_entry()`` is both the report's target entry and the journal line.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

SCHEMA_VERSION: Final = 1
TOOL_NAME: Final = "revoke-runner"
HEX24: Final = re.compile(r"^[a-f0-9]{24}$")
API_VERSION_RE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Outcome(StrEnum):
    REVOKED = "revoked"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_ATTEMPTED = "not_attempted"
    WOULD_REVOKE = "would_revoke"


class AbortReason(StrEnum):
    INTERRUPTED = "interrupted"
    UNAUTHORIZED = "unauthorized"
    API_VERSION = "api_version"


class AttemptError(StrEnum):
    """Why an attempt has no HTTP status."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    INTERRUPTED = "interrupted"


class ExitCode:
    OK: Final = 0
    FAILED: Final = 1
    NOTHING_SENT: Final = 2
    STOPPED: Final = 3


def rfc3339_ms(ts: float) -> str:
    """UTC, milliseconds, ``Z``: the report's one timestamp format."""
    second, milli = divmod(int(ts * 1000), 1000)
    return _second_text(second) + _MILLIS[milli]


# A run writes three timestamps per target, twice (journal and report): every part of the text
# is made once, the second by ``_second_text``, the fraction here.
_MILLIS = tuple(f".{i:03d}Z" for i in range(1000))


@functools.lru_cache(maxsize=64)
def _second_text(second: int) -> str:
    # A run writes several timestamps per target, nearly all within the last few seconds:
    # formatting each second once keeps strftime off the per-target path.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_rfc3339_ms(text: str) -> float:
    # fromisoformat reads the trailing Z since 3.11 and is ~15x faster than strptime, which
    # matters when a resume reads a 100,000-line journal. It is lenient, so insist on the Z.
    if not text.endswith("Z"):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    return datetime.fromisoformat(text).timestamp()


@dataclass(frozen=True, slots=True)
class Target:
    """One (federation, IdP) pair to revoke."""

    federation_settings_id: str
    identity_provider_id: str
    label: str | None = None
    # Where the target came from in the plan (for messages), and the IdP's name when discovery
    # found it; neither takes part in identity.
    line: int | None = field(default=None, compare=False)
    display_name: str | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.federation_settings_id, self.identity_provider_id)

    def __str__(self) -> str:
        return f"{self.federation_settings_id}/{self.identity_provider_id}"


@dataclass(frozen=True, slots=True)
class DiscoverAll:
    """A plan entry ``identityProviders: all``: every OIDC IdP of the federation, found later."""

    federation_settings_id: str
    label: str | None = None
    line: int | None = None


PlanEntry = Target | DiscoverAll


@dataclass(frozen=True, slots=True)
class Settings:
    """The run's knobs, after merging defaults, plan ``settings`` and the command line."""

    concurrency: int = 8
    rate: float = 5.0
    max_attempts: int = 5
    timeout: float = 30.0
    api_version: str = "2023-11-15"

    def to_dict(self, effective_rate: float | None = None) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "rate": _num(self.rate),
            "effectiveRate": _num(self.rate if effective_rate is None else effective_rate),
            "maxAttempts": self.max_attempts,
            "timeout": _num(self.timeout),
            "apiVersion": self.api_version,
        }


# The plan's ``settings`` keys, mapped to Settings fields.
SETTINGS_KEYS: Final[Mapping[str, str]] = {
    "concurrency": "concurrency",
    "rate": "rate",
    "maxAttempts": "max_attempts",
    "timeout": "timeout",
    "apiVersion": "api_version",
}


@dataclass(frozen=True, slots=True)
class Plan:
    path: str
    sha256: str
    entries: tuple[PlanEntry, ...]
    # Only the keys the file sets, as Settings field names -> values.
    settings: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def needs_discovery(self) -> bool:
        return any(isinstance(e, DiscoverAll) for e in self.entries)

    def explicit_targets(self) -> list[Target]:
        return [e for e in self.entries if isinstance(e, Target)]


def expand(
    entries: Iterable[PlanEntry], discovered: Mapping[str, Sequence[Target]]
) -> tuple[list[Target], list[str]]:
    """Replace each ``all`` entry by its discovered IdPs; keep each pair once, at its first place.

    Returns the targets and a warning per dropped duplicate.
    """
    seen: set[tuple[str, str]] = set()
    out: list[Target] = []
    warnings: list[str] = []
    for entry in entries:
        if isinstance(entry, DiscoverAll):
            found = [
                dataclasses.replace(
                    t, label=entry.label if entry.label is not None else t.label, line=entry.line
                )
                for t in discovered.get(entry.federation_settings_id, ())
            ]
        else:
            found = [entry]
        for t in found:
            if t.key in seen:
                warnings.append(
                    f"{t} is listed more than once; it is revoked once, at its first position"
                )
                continue
            seen.add(t.key)
            out.append(t)
    return out, warnings


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request the server could have received for a target."""

    at: float
    http_status: int | None = None
    error: AttemptError | None = None
    error_code: str | None = None
    ms: float | None = None

    def to_dict(self, at_text: str | None = None) -> dict[str, Any]:
        """The report's history entry; ``at_text``: ``at`` already formatted, if at hand."""
        d: dict[str, Any] = {"at": at_text or rfc3339_ms(self.at)}
        if self.http_status is not None:
            d["httpStatus"] = self.http_status
        else:
            d["error"] = str(self.error or AttemptError.CONNECTION)
        if self.error_code is not None:
            d["errorCode"] = self.error_code
        if self.ms is not None:
            d["ms"] = round(self.ms, 1)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attempt:
        err = d.get("error")
        return cls(
            at=parse_rfc3339_ms(d["at"]),
            http_status=d.get("httpStatus"),
            error=AttemptError(err) if err is not None else None,
            error_code=d.get("errorCode"),
            ms=d.get("ms"),
        )


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What happened to one target: the report's entry and the journal's line."""

    target: Target
    outcome: Outcome
    http_status: int | None = None
    error_code: str | None = None
    detail: str | None = None
    history: tuple[Attempt, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def attempts(self) -> int:
        return len(self.history)

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round(max(0.0, self.finished_at - self.started_at) * 1000, 1)

    def to_entry(self) -> dict[str, Any]:
        t, started, finished, history = self.target, self.started_at, self.finished_at, self.history
        # Built twice per target (journal line, report line): the first send's time is the
        # target's start, so that text is made once.
        start_text = rfc3339_ms(started) if started is not None else None
        entry: dict[str, Any] = {
            "federationSettingsId": t.federation_settings_id,
            "identityProviderId": t.identity_provider_id,
            "label": t.label,
            "outcome": str(self.outcome),
            "httpStatus": self.http_status,
            "errorCode": self.error_code,
            "detail": self.detail,
            "attempts": len(history),
            "startedAt": start_text,
            "finishedAt": rfc3339_ms(finished) if finished is not None else None,
            "durationMs": self.duration_ms,
            "history": [a.to_dict(start_text if a.at == started else None) for a in history],
        }
        if t.display_name is not None:
            entry["displayName"] = t.display_name
        return entry

    @classmethod
    def from_entry(cls, d: Mapping[str, Any]) -> TargetResult:
        """Inverse of ``to_entry``, for journals; bad input raises KeyError/ValueError/TypeError."""
        target = Target(
            federation_settings_id=str(d["federationSettingsId"]),
            identity_provider_id=str(d["identityProviderId"]),
            label=d["label"],
            display_name=d.get("displayName"),
        )
        started, finished = d["startedAt"], d["finishedAt"]
        return cls(
            target=target,
            outcome=Outcome(d["outcome"]),
            http_status=d["httpStatus"],
            error_code=d["errorCode"],
            detail=d["detail"],
            history=tuple(Attempt.from_dict(a) for a in d["history"]),
            started_at=parse_rfc3339_ms(started) if started is not None else None,
            finished_at=parse_rfc3339_ms(finished) if finished is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Aborted:
    reason: AbortReason
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Summary:
    total: int = 0
    revoked: int = 0
    failed: int = 0
    skipped: int = 0
    not_attempted: int = 0
    would_revoke: int = 0

    @classmethod
    def of(cls, results: Iterable[TargetResult]) -> Summary:
        counts = {o: 0 for o in Outcome}
        for r in results:
            counts[r.outcome] += 1
        return cls(
            total=sum(counts.values()),
            revoked=counts[Outcome.REVOKED],
            failed=counts[Outcome.FAILED],
            skipped=counts[Outcome.SKIPPED],
            not_attempted=counts[Outcome.NOT_ATTEMPTED],
            would_revoke=counts[Outcome.WOULD_REVOKE],
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "revoked": self.revoked,
            "failed": self.failed,
            "skipped": self.skipped,
            "notAttempted": self.not_attempted,
            "wouldRevoke": self.would_revoke,
        }


def exit_code_for(summary: Summary, aborted: Aborted | None) -> int:
    if aborted is not None:
        return ExitCode.STOPPED
    if summary.failed or summary.not_attempted:
        return ExitCode.FAILED
    return ExitCode.OK


@dataclass(frozen=True, slots=True, repr=False)
class RunRecord:
    """Everything the JSON report says about one run."""

    plan_path: str
    plan_sha256: str
    base_url: str
    dry_run: bool
    settings: Settings
    effective_rate: float
    started_at: float
    finished_at: float
    results: tuple[TargetResult, ...]
    aborted: Aborted | None = None
    tool_version: str = "0"

    def __repr__(self) -> str:
        # Short on purpose: asyncio reprs a finished main task, result included, when the event
        # loop closes; a full repr of 100,000 results took seconds.
        return f"RunRecord(plan={self.plan_path!r}, {self.summary}, aborted={self.aborted})"

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.summary, self.aborted)

    def to_report(self) -> dict[str, Any]:
        return {**self.report_head(), "targets": [r.to_entry() for r in self.results]}

    def report_head(self) -> dict[str, Any]:
        """The report without its targets: all a summary needs, at a fraction of the cost."""
        summary = self.summary  # one pass over the results, for the counts and the exit code
        return {
            "schemaVersion": SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "plan": {"path": self.plan_path, "sha256": self.plan_sha256},
            "baseUrl": self.base_url,
            "dryRun": self.dry_run,
            "startedAt": rfc3339_ms(self.started_at),
            "finishedAt": rfc3339_ms(self.finished_at),
            "durationSeconds": round(max(0.0, self.finished_at - self.started_at), 3),
            "settings": self.settings.to_dict(self.effective_rate),
            "summary": summary.to_dict(),
            "exitCode": exit_code_for(summary, self.aborted),
            "aborted": self.aborted.to_dict() if self.aborted else None,
        }


def _num(x: float) -> float | int:
    """Write 5.0 as 5 so the report reads as the user wrote it."""
    return int(x) if float(x).is_integer() else x
