"""The worker pool: targets in, one TargetResult per target out.

N workers (anyio tasks) take targets in plan order from one shared iterator; each target runs
its attempts under the retry policy. The engine stops taking targets when asked to (a signal) or
when an answer says the whole run must stop (credentials or API version refused); what it never
started comes back as ``not_attempted``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import anyio

from .errors import AttemptFailed, NotStarted, Retryable, StopRun
from .events import RunObserver
from .model import Aborted, Attempt, Outcome, Target, TargetResult
from .retrying import retry_policy

# One attempt at one target: record each send, return on success, raise AttemptFailed otherwise.
RevokeOnce = Callable[[Target, Callable[[Attempt], None]], Awaitable[None]]


class _Stopping(Exception):
    """The run is stopping: no further attempt for this target."""


@dataclass(frozen=True, slots=True)
class PoolResult:
    results: list[TargetResult]
    aborted: Aborted | None


class Engine:
    def __init__(
        self,
        revoke_once: RevokeOnce,
        *,
        concurrency: int,
        max_attempts: int,
        observer: RunObserver,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self._revoke_once = revoke_once
        self._on_stop = on_stop
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._observer = observer
        self._stop = anyio.Event()
        self._aborted: Aborted | None = None
        self._in_flight: anyio.CancelScope | None = None

    # -- control, from outside (signals) or inside (StopRun) ------------------------------------

    def stop(self, aborted: Aborted) -> None:
        """No new target starts; targets in flight finish their current attempt."""
        if self._aborted is None:
            self._aborted = aborted
        if not self._stop.is_set():
            self._stop.set()
            # Workers waiting for a pacer slot have sent nothing yet: ``on_stop`` must keep them
            # from sending (they raise NotStarted), or a stopped run would go on revoking.
            if self._on_stop is not None:
                self._on_stop()

    def cancel_in_flight(self) -> None:
        """Cut requests still in flight (a second signal, or the grace period's end)."""
        if self._in_flight is not None:
            self._in_flight.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the pool --------------------------------------------------------------------------------

    async def run(self, targets: Sequence[Target]) -> PoolResult:
        results: list[TargetResult | None] = [None] * len(targets)
        queue: Iterator[tuple[int, Target]] = iter(enumerate(targets))

        def settle(index: int, result: TargetResult) -> None:
            results[index] = result
            self._observer.target_finished(result)

        async def worker() -> None:
            for index, target in queue:
                if self._stop.is_set():
                    return
                await self._one(target, lambda r, i=index: settle(i, r))  # type: ignore[misc]

        with anyio.CancelScope() as scope:
            self._in_flight = scope
            async with anyio.create_task_group() as tg:
                for _ in range(min(self._concurrency, max(1, len(targets)))):
                    tg.start_soon(worker)
        self._in_flight = None

        final = [
            r if r is not None else TargetResult(target=t, outcome=Outcome.NOT_ATTEMPTED)
            for r, t in zip(results, targets, strict=True)
        ]
        return PoolResult(final, self._aborted)

    async def _interruptible_sleep(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._stop.wait()

    async def _one(self, target: Target, settle: Callable[[TargetResult], None]) -> None:
        history: list[Attempt] = []
        started = time.time()

        def record(attempt: Attempt) -> None:
            history.append(attempt)
            will_retry = (
                (attempt.http_status is None or attempt.http_status in (429, 500, 502, 503, 504))
                and len(history) < self._max_attempts
                and not self._stop.is_set()
            )
            self._observer.attempt_finished(target, attempt, will_retry)

        def result(outcome: Outcome, failure: AttemptFailed | None = None) -> TargetResult:
            last = history[-1] if history else None
            # From the first send: time spent queued behind the pacer is not the target's.
            first_sent = history[0].at if history else started
            return TargetResult(
                target=target,
                outcome=outcome,
                http_status=last.http_status if last else None,
                error_code=failure.error_code if failure else None,
                detail=failure.detail if failure else None,
                history=tuple(history),
                started_at=first_sent,
                finished_at=time.time(),
            )

        failures: list[AttemptFailed] = []  # the last is what a stopped target reports
        try:
            # Most targets need one attempt: make it outside the retry machinery, whose
            # bookkeeping would otherwise cost more CPU than the request itself.
            first: Retryable | None = None
            try:
                await self._revoke_once(target, record)
            except Retryable as exc:
                first = exc
            if first is not None:
                failures.append(first)
                await self._retry(target, record, first, failures)
        except (_Stopping, NotStarted):
            if history:
                settle(result(Outcome.FAILED, failures[-1] if failures else None))
            else:
                settle(TargetResult(target=target, outcome=Outcome.NOT_ATTEMPTED))
        except StopRun as exc:
            self.stop(Aborted(exc.reason, exc.detail))
            settle(result(Outcome.FAILED, exc))
        except AttemptFailed as exc:
            settle(result(Outcome.FAILED, exc))
        except anyio.get_cancelled_exc_class():
            # Cut while in flight: its fate on the server is unknown, so a resume revokes it
            # again. Cut before anything was sent: it was never attempted.
            if history:
                settle(result(Outcome.FAILED, AttemptFailed(detail="interrupted while in flight")))
            else:
                settle(TargetResult(target=target, outcome=Outcome.NOT_ATTEMPTED))
            raise
        else:
            settle(result(Outcome.REVOKED))

    async def _retry(
        self,
        target: Target,
        record: Callable[[Attempt], None],
        first: Retryable,
        failures: list[AttemptFailed],
    ) -> None:
        """Attempts 2..N under the retry policy; attempt 1 (``first``) already failed."""
        replay: Retryable | None = first
        async for attempt in retry_policy(
            self._max_attempts, stopping=self._stop.is_set, sleep=self._interruptible_sleep
        ):
            with attempt:
                if replay is not None:
                    # Let the policy count attempt 1 and compute the wait after it.
                    failure, replay = replay, None
                    raise failure
                if self._stop.is_set():
                    raise _Stopping
                try:
                    await self._revoke_once(target, record)
                except AttemptFailed as exc:
                    failures.append(exc)
                    raise
