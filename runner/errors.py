"""One exception hierarchy, in the caller's terms.

RunnerError                      anything the CLI turns into a message and an exit code
├── UsageError                   bad options or environment (exit 2)
│   └── CredentialsError         missing or half-set credentials (exit 2)
├── PlanError                    the plan is invalid; carries every problem found (exit 2)
├── JournalError                 journal unreadable or of another plan (exit 2)
├── LockedError                  another run holds the plan or journal (exit 2)
├── DiscoveryError               ``identityProviders: all`` could not be resolved (exit 2)
└── ConfirmationRefused          the operator said no, or could not be asked (exit 2)

TransportError                   one HTTP attempt got no answer (retried)
├── RequestTimeout
└── ConnectionFailed

Messages never contain a secret: callers build them from ids, paths and statuses only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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


class TransportError(Exception):
    """No HTTP answer for one attempt."""


class RequestTimeout(TransportError):
    pass


class ConnectionFailed(TransportError):
    pass
