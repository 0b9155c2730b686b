"""One exception hierarchy, in the caller's terms.

RunnerError                      anything the CLI turns into a message and an exit code
├── UsageError                   bad options or environment (exit 2)
│   └── CredentialsError         missing or half-set credentials (exit 2)
├── PlanError                    the plan is invalid; carries every problem found (exit 2)
├── JournalError                 journal unreadable or of another plan (exit 2)
├── LockedError                  another run holds the plan or journal (exit 2)
├── DiscoveryError               ``identityProviders: all`` could not be resolved (exit 2)
├── ConfirmationRefused          the operator said no, or could not be asked (exit 2)
└── Interrupted                  a signal came before the first revocation (exit 2)

TransportError                   one HTTP attempt got no answer (retried)
├── RequestTimeout
└── ConnectionFailed

AttemptFailed                    what a target's attempt came to, when not success
├── Retryable                    429, 5xx, no answer: try again (after retry_after at least)
├── Rejected                     any other status: this target fails, the run goes on
└── StopRun                      credentials or API version refused: the whole run stops

Messages never contain a secret: callers build them from ids, paths and statuses only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import AbortReason


class RunnerError(Exception):
    exit_code: int = 2


class UsageError(RunnerError):
    pass


class CredentialsError(UsageError):
    pass


@dataclass(frozen=True, slots=True)
class PlanProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class PlanError(RunnerError):
    def __init__(self, problems: Sequence[PlanProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class JournalError(RunnerError):
    pass


class LockedError(RunnerError):
    pass


class DiscoveryError(RunnerError):
    pass


class ConfirmationRefused(RunnerError):
    pass


class Interrupted(RunnerError):
    pass


class NotStarted(Exception):
    """The run's pacer was closed (the run is stopping) before this request was sent, so it
    must not count as an attempt."""


class TransportError(Exception):
    """No HTTP answer for one attempt."""


class RequestTimeout(TransportError):
    pass


class ConnectionFailed(TransportError):
    pass


class AttemptFailed(Exception):
    def __init__(
        self,
        *,
        status: int | None = None,
        error_code: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.detail = detail
        super().__init__(detail or error_code or (f"HTTP {status}" if status else "no answer"))


class Retryable(AttemptFailed):
    def __init__(
        self,
        *,
        status: int | None = None,
        error_code: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status=status, error_code=error_code, detail=detail)
        self.retry_after = retry_after


class Rejected(AttemptFailed):
    pass


class StopRun(AttemptFailed):
    def __init__(
        self,
        reason: AbortReason,
        *,
        status: int | None = None,
        error_code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(status=status, error_code=error_code, detail=detail)
        self.reason = reason
