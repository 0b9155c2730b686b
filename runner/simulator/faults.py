"""Scripted faults: queues of answers the simulator gives before it behaves normally again.

A fault is written as a plain value (so the ``/_sim/script`` admin endpoint takes the same as
the Python API):

- an int status: ``429`` (with ``Retry-After: 1``), ``500``, ``502``, ``503``, ``504``, ``400``,
  ``401``, ``403``, ``404``, ``406``, ``410``: an Atlas-shaped error body with that status;
- ``"reset"``: the connection is closed abruptly (TCP RST) without an answer;
- ``"hang"``: no answer for ``seconds`` (default an hour: for client timeouts);
- ``"html"`` / ``"html:504"``: an HTML error page like a proxy's (502 unless given);
- ``"empty"`` / ``"empty:503"``: the status with an empty body (502 unless given);
- a dict: ``{"status": 429, "retryAfter": 3, "retryAfterHeader": false}`` (429 whose wait is
  only in the body's ``parameters``), ``{"kind": "hang", "seconds": 5}``, ``{"kind": "html",
  "status": 504}``, ``{"status": 503, "retryAfter": 2}``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

FaultKind = Literal["status", "reset", "hang", "html", "empty"]
Scope = Literal["revoke", "list", "get", "token", "any"]
SCOPES: Final[tuple[str, ...]] = ("revoke", "list", "get", "token", "any")
_KINDS: Final[tuple[str, ...]] = ("status", "reset", "hang", "html", "empty")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind = "status"
    status: int = 500
    retry_after: float | None = None
    retry_after_header: bool = True
    seconds: float = 3600.0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "retryAfter": self.retry_after,
            "retryAfterHeader": self.retry_after_header,
            "seconds": self.seconds,
        }


FaultSpec = int | str | Mapping[str, Any] | Fault


def parse_fault(spec: FaultSpec) -> Fault:
    """One fault from its plain form (see the module docstring); ValueError names what is wrong."""
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, bool):
        raise ValueError(f"fault {spec!r}: expected a status, a kind name or an object")
    if isinstance(spec, int):
        return _status_fault(spec, None, True)
    if isinstance(spec, str):
        kind, _, arg = spec.partition(":")
        if kind.isdigit():
            return _status_fault(int(kind), None, True)
        if kind not in _KINDS or kind == "status":
            raise ValueError(
                f"fault {spec!r}: unknown kind (use reset, hang, html, empty or a code)"
            )
        if kind == "hang":
            return Fault("hang", seconds=float(arg) if arg else 3600.0)
        if kind == "reset":
            return Fault("reset")
        return Fault(kind, status=int(arg) if arg else 502)  # type: ignore[arg-type]
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"kind", "status", "retryAfter", "retryAfterHeader", "seconds"}
        if unknown:
            raise ValueError(f"fault {dict(spec)!r}: unknown keys {sorted(unknown)}")
        kind = spec.get("kind", "status")
        if kind not in _KINDS:
            raise ValueError(f"fault {dict(spec)!r}: unknown kind {kind!r}")
        if kind == "status":
            return _status_fault(
                int(spec.get("status", 500)),
                None if spec.get("retryAfter") is None else float(spec["retryAfter"]),
                bool(spec.get("retryAfterHeader", True)),
            )
        return Fault(
            kind,
            status=int(spec.get("status", 502)),
            seconds=float(spec.get("seconds", 3600.0)),
        )
    raise ValueError(f"fault {spec!r}: expected a status, a kind name or an object")


def _status_fault(status: int, retry_after: float | None, header: bool) -> Fault:
    if not 400 <= status <= 599:
        raise ValueError(f"fault status {status}: must be 400..599")
    if status == 429 and retry_after is None:
        retry_after = 1.0
    return Fault("status", status, retry_after, header)


@dataclass(slots=True)
class _Entry:
    scope: str
    fed: str | None
    idp: str | None
    queue: deque[Fault]


class ScriptBook:
    """Queues of faults by scope (``revoke`` by default) and optionally federation and IdP.

    A request takes the first fault of the most specific non-empty queue that matches it
    (IdP, then federation, then any), so "the next 3 revokes of X fail" and "the next revoke of
    anything resets" can be combined.
    """

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def __bool__(self) -> bool:
        return any(e.queue for e in self._entries)

    def add(
        self,
        faults: Iterable[FaultSpec],
        *,
        scope: str = "revoke",
        fed: str | None = None,
        idp: str | None = None,
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"fault scope {scope!r}: use one of {', '.join(SCOPES)}")
        parsed = [parse_fault(f) for f in faults]
        for e in self._entries:
            if (e.scope, e.fed, e.idp) == (scope, fed, idp):
                e.queue.extend(parsed)
                break
        else:
            # Rebind rather than sort in place: the server's loop may read the list meanwhile.
            self._entries = sorted(
                [*self._entries, _Entry(scope, fed, idp, deque(parsed))],
                key=lambda e: (e.idp is None, e.fed is None, e.scope == "any"),
            )

    def take(self, kind: str, fed: str | None, idp: str | None) -> Fault | None:
        for e in self._entries:
            if (
                e.queue
                and (e.scope == kind or (e.scope == "any" and kind != "token"))
                and (e.fed is None or e.fed == fed)
                and (e.idp is None or e.idp == idp)
            ):
                return e.queue.popleft()
        return None

    def clear(self) -> None:
        self._entries.clear()

    def pending(self) -> list[dict[str, Any]]:
        return [
            {"scope": e.scope, "fed": e.fed, "idp": e.idp, "faults": [f.to_json() for f in e.queue]}
            for e in self._entries
            if e.queue
        ]
