"""What the engine tells the outside while it runs: the seam between the engine and every view.

The engine calls these methods from its own event loop; an observer must return quickly and never
raise. Times are ``time.time()`` seconds. Views (live terminal, plain lines, JSON logs) and the
journal are observers; the engine knows none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .model import Attempt, RunRecord, Settings, Target, TargetResult


class RunObserver(Protocol):
    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None: ...

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None: ...

    def paused(self, until: float, reason: str) -> None:
        """The whole pool holds new requests until ``until`` (a 429's Retry-After)."""

    def rate_changed(self, rate: float) -> None:
        """The pool adopted a lower rate (a token bucket's refill rate)."""

    def target_finished(self, result: TargetResult) -> None: ...

    def run_finished(self, record: RunRecord) -> None: ...


class NullObserver:
    """Base for observers that care about a few events only."""

    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None:
        pass

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None:
        pass

    def paused(self, until: float, reason: str) -> None:
        pass

    def rate_changed(self, rate: float) -> None:
        pass

    def target_finished(self, result: TargetResult) -> None:
        pass

    def run_finished(self, record: RunRecord) -> None:
        pass


class Fanout:
    """Several observers behind one."""

    def __init__(self, observers: Iterable[RunObserver]) -> None:
        self._observers = list(observers)

    def add(self, observer: RunObserver) -> None:
        self._observers.append(observer)

    def run_started(self, total: int, settings: Settings, dry_run: bool) -> None:
        for o in self._observers:
            o.run_started(total, settings, dry_run)

    def attempt_finished(self, target: Target, attempt: Attempt, will_retry: bool) -> None:
        for o in self._observers:
            o.attempt_finished(target, attempt, will_retry)

    def paused(self, until: float, reason: str) -> None:
        for o in self._observers:
            o.paused(until, reason)

    def rate_changed(self, rate: float) -> None:
        for o in self._observers:
            o.rate_changed(rate)

    def target_finished(self, result: TargetResult) -> None:
        for o in self._observers:
            o.target_finished(result)

    def run_finished(self, record: RunRecord) -> None:
        for o in self._observers:
            o.run_finished(record)
