"""The retry policy as pure strategies: no sleeping, tenacity's RetryCallState built by hand."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from tenacity import RetryCallState
from tenacity.wait import wait_fixed

from runner.errors import Rejected, Retryable
from runner.retrying import BACKOFF_CAP, full_jitter, retry_policy, wait_at_least_retry_after


def state(attempt: int, exc: BaseException) -> RetryCallState:
    rs = RetryCallState(retry_object=retry_policy(5), fn=None, args=(), kwargs={})
    rs.attempt_number = attempt
    fut: Future[None] = Future()
    fut.set_exception(exc)
    rs.outcome = fut  # type: ignore[assignment]
    return rs


def test_retry_after_is_a_floor_not_a_replacement() -> None:
    wait = wait_at_least_retry_after(wait_fixed(2))
    assert wait(state(1, Retryable(status=429, retry_after=7))) == 7
    assert wait(state(1, Retryable(status=503, retry_after=0.5))) == 2
    assert wait(state(1, Retryable(status=503))) == 2


def test_full_jitter_stays_within_the_exponential_window_and_the_cap() -> None:
    wait = full_jitter()
    for attempt in range(1, 12):
        window = min(BACKOFF_CAP, 0.5 * 2 ** (attempt - 1))
        samples = [wait(state(attempt, Retryable(status=500))) for _ in range(200)]
        assert all(0 <= s <= window + 1e-9 for s in samples)
        assert max(samples) > window * 0.5  # jitter spreads over the window, not a fixed wait


@pytest.mark.anyio
async def test_policy_retries_retryable_up_to_max_attempts_and_reraises() -> None:
    calls = 0

    async def no_sleep(_: float) -> None:
        pass

    with pytest.raises(Retryable):
        async for attempt in retry_policy(3, sleep=no_sleep):
            with attempt:
                calls += 1
                raise Retryable(status=503)
    assert calls == 3


@pytest.mark.anyio
async def test_policy_does_not_retry_a_rejection_or_when_stopping() -> None:
    async def no_sleep(_: float) -> None:
        pass

    calls = 0
    with pytest.raises(Rejected):
        async for attempt in retry_policy(5, sleep=no_sleep):
            with attempt:
                calls += 1
                raise Rejected(status=404)
    assert calls == 1
    calls = 0
    with pytest.raises(Retryable):
        async for attempt in retry_policy(5, stopping=lambda: True, sleep=no_sleep):
            with attempt:
                calls += 1
                raise Retryable(status=503)
    assert calls == 1
