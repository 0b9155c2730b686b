"""Pacing: when may the next request start. A pure schedule, and its async face.

The schedule is a token bucket of burst 1 kept as "the next free slot": each request takes the
slot and moves it 1/rate later. Slots are counted from the previous slot, not from "now", so the
pace does not drift with the event loop's lateness, and no 1-second window holds more than
rate + 1 starts. A pause (the API said 429) pushes every slot past its end.

Slots are reserved ahead, so callers that wake late (a busy event loop) would start together and
crowd one second with more than rate + 1 starts; ``hold`` keeps the last rate + 1 actual starts
and delays a start until the oldest of them is a second old. That caps every window without
moving the schedule, so the long-run pace stays exact.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio


class Schedule:
    """The pure core: ``reserve(now)`` returns how long the caller must wait for its slot."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.paused_until = 0.0
        self._next = 0.0
        self._starts: deque[float] = self._window(rate)

    @staticmethod
    def _window(rate: float) -> deque[float]:
        return deque(maxlen=math.floor(rate) + 1 if rate > 0 else 1)

    def reserve(self, now: float) -> float:
        slot = max(self._next, now, self.paused_until)
        if self.rate > 0:
            self._next = slot + 1.0 / self.rate
        return slot - now

    def hold(self, now: float) -> float:
        """0 and the start is recorded, or how long to wait so no second holds > rate + 1."""
        if self.rate > 0 and len(self._starts) == self._starts.maxlen:
            wait = self._starts[0] + 1.0 - now
            if wait > 0:
                return wait
        self._starts.append(now)
        return 0.0

    def pause_until(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def lower_rate(self, rate: float) -> bool:
        """Adopt ``rate`` if it is slower than the current pace (0 = unlimited is fastest)."""
        if rate <= 0 or (self.rate > 0 and rate >= self.rate):
            return False
        self.rate = rate
        self._starts = self._window(rate)
        return True


class Pacer:
    """Shared by every worker: ``await pacer.acquire()`` before each API request."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.schedule = Schedule(rate)
        self._clock = clock
        self._sleep = sleep

    @property
    def rate(self) -> float:
        return self.schedule.rate

    async def acquire(self) -> None:
        while True:
            wait = self.schedule.reserve(self._clock())
            if wait > 0:
                await self._sleep(wait)
            # A pause that began while we slept voids the slot we held: queue again behind it.
            if self._clock() < self.schedule.paused_until:
                continue
            while (hold := self.schedule.hold(self._clock())) > 0:
                await self._sleep(hold)
            return

    def pause_for(self, seconds: float) -> float:
        """Hold every new request for ``seconds``; returns the monotonic end of the pause."""
        until = self._clock() + seconds
        self.schedule.pause_until(until)
        return until

    def lower_rate(self, rate: float) -> bool:
        return self.schedule.lower_rate(rate)
