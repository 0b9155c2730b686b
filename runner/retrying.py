"""The retry policy, composed from tenacity's strategies.

Retried: whatever the client raises as Retryable (429, 5xx, no answer). The wait is full-jitter
exponential backoff (base 0.5 s, cap 30 s), and never shorter than what the server asked for in
Retry-After (or a token bucket's retryAfterSeconds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from .errors import Retryable

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


# Lowercase class names: tenacity's own convention, so a policy reads like configuration.
class wait_at_least_retry_after(wait_base):
    """The inner wait, or the server's Retry-After when that is longer."""

    def __init__(self, inner: wait_base) -> None:
        self.inner = inner

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = float(self.inner(retry_state))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        return wait


class stop_when(stop_base):
    """Stop retrying once ``predicate()`` holds (the run is stopping)."""

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate()


def full_jitter() -> wait_base:
    # wait_random_exponential is AWS's "full jitter": uniform(0, min(cap, base * 2**n)).
    return wait_random_exponential(multiplier=BACKOFF_BASE, max=BACKOFF_CAP)


def retry_policy(
    max_attempts: int,
    *,
    stopping: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    wait: wait_base | None = None,
) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(max_attempts) | stop_when(stopping),
        wait=wait_at_least_retry_after(wait if wait is not None else full_jitter()),
        retry=retry_if_exception_type(Retryable),
        sleep=sleep,
        reraise=True,
    )
