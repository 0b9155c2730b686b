"""Pacing: when may the next request start. A pure schedule, and its async face.

The schedule is a token bucket of burst 1 kept as "the next free slot": each request takes the
slot and moves it 1/rate later. Slots are counted from the previous slot, not from "now", so the
pace does not drift with the event loop's lateness, and no 1-second window holds more than
rate + 1 starts. A pause (the API said 429) pushes every slot past its end.

Slots are reserved ahead, so callers that wake late (a busy event loop) would start together and
crowd one second with more than rate + 1 starts; ``hold`` keeps the last rate + 1 actual starts
and delays a start until the oldest of them is a second old, plus ``HOLD_MARGIN``. That caps
every window without moving the schedule. The margin is for the server's view: a request reaches
it a varying moment after it starts here (p99 ~2 ms on loopback, more on a busy machine), and
starts R + 1 to a window of 1 s + margin arrive R + 1 to a second as long as that variation
stays under the margin. It costs nothing below 1 / margin = 200 requests/s (slots are further
apart than the margin) and at most margin / (1 + margin), 0.5%, of the pace above.

``Credit`` listens to the server: Atlas answers carry ``Ratelimit-Remaining`` (the simulator's is
the whole tokens left in its bucket: the requests it would take right now). Never having more
requests in flight than the last answer said remain keeps a burst from overrunning a bucket whose
refill rate the client does not know yet (only a 429's body names it). Before any answer the
credit is one request, so the first wave cannot overrun either; a server that never sends the
header costs that one round trip.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

import anyio

from .errors import NotStarted

HOLD_MARGIN = 0.005


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
            wait = self._starts[0] + (1.0 + HOLD_MARGIN) - now
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


RATELIMIT_REMAINING = "Ratelimit-Remaining"


def parse_remaining(value: str | None) -> int | None:
    """``Ratelimit-Remaining`` as a count; None when absent or not a plain non-negative integer."""
    if value is None:
        return None
    value = value.strip()
    if not (0 < len(value) <= 12 and value.isascii() and value.isdigit()):
        return None
    return int(value)


class Credit:
    """The pure in-flight cap: at most the last answer's ``Ratelimit-Remaining`` in flight.

    Requests still in flight when an answer says ``n`` remain may not have reached the server
    yet, so they count against ``n``: starting only while ``in_flight < n`` cannot overrun the
    bucket (other clients of the same key aside). With nothing in flight one request may always
    start, whatever the credit says, so the run never stalls: when the bucket is empty that
    request is the probe whose 429 names the refill rate and the pause. An answer without a
    readable header leaves the credit as it was; before the first answer (with or without the
    header) only the probe goes, and answers that never carry the header lift every cap.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self.remaining: int | None = None
        self.heard = False

    def may_start(self) -> bool:
        if self.in_flight == 0:
            return True
        if not self.heard:
            return False
        return self.remaining is None or self.in_flight < self.remaining

    def start(self) -> None:
        self.in_flight += 1

    def end(self, remaining: str | None, *, answered: bool) -> None:
        """A request ended: with an answer (and its ``Ratelimit-Remaining``, if any) or none."""
        self.in_flight = max(self.in_flight - 1, 0)
        if answered:
            self.heard = True
            count = parse_remaining(remaining)
            if count is not None:
                self.remaining = count


class Pacer:
    """Shared by every worker: ``await pacer.acquire()`` before each API request.

    Right after ``acquire`` returns, with no ``await`` in between (the credit was checked in the
    same step), the caller says ``started()``, and ``ended(headers)`` once the request is over,
    whatever happened (``None``: no answer).
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.schedule = Schedule(rate)
        self.credit = Credit()
        self._clock = clock
        self._sleep = sleep
        self._ended: anyio.Event | None = None  # set by the next ``ended``: credit may be back
        self.closed = False
        self._waiting: set[anyio.CancelScope] = set()

    @property
    def rate(self) -> float:
        return self.schedule.rate

    def close(self) -> None:
        """The run is stopping: whoever waits for a slot, or comes for one, sends nothing.

        A worker waiting here has sent nothing yet (SPEC: "no new target starts"): ``acquire``
        raises NotStarted, which the engine reports as not_attempted, or, for a retry, as the
        failure before it.
        """
        self.closed = True
        for scope in self._waiting:
            scope.cancel()

    async def acquire(self) -> None:
        if self.closed:
            raise NotStarted("the run is stopping: request not sent")
        while True:
            while not self.credit.may_start():
                if self._ended is None:
                    self._ended = anyio.Event()
                await self._wait(self._ended.wait())
            wait = self.schedule.reserve(self._clock())
            if wait > 0:
                await self._wait(self._sleep(wait))
            # A pause that began while we slept voids the slot we held: queue again behind it.
            if self._clock() < self.schedule.paused_until:
                continue
            # Credit and hold are checked in one step, and hold records the start only when it
            # lets it go: a start refused for credit must not fill the window and hold others.
            while self.credit.may_start() and self._clock() >= self.schedule.paused_until:
                hold = self.schedule.hold(self._clock())
                if hold == 0:
                    return
                await self._wait(self._sleep(hold))
            # Others spent the credit, or a pause began, while we slept: the slot is lost.

    async def _wait(self, waiting: Awaitable[None]) -> None:
        # Only a caller that has to wait pays for a cancel scope: at --rate 0 nobody does.
        with anyio.CancelScope() as scope:
            self._waiting.add(scope)
            try:
                await waiting
            finally:
                self._waiting.discard(scope)
        if self.closed:
            raise NotStarted("the run is stopping: request not sent")

    def started(self) -> None:
        self.credit.start()

    def ended(self, headers: Mapping[str, str] | None) -> None:
        # The transport's headers are aiohttp's, whose ``get`` ignores case.
        remaining = headers.get(RATELIMIT_REMAINING) if headers is not None else None
        self.credit.end(remaining, answered=headers is not None)
        if self._ended is not None:
            self._ended.set()
            self._ended = None

    def pause_for(self, seconds: float) -> float:
        """Hold every new request for ``seconds``; returns the monotonic end of the pause."""
        until = self._clock() + seconds
        self.schedule.pause_until(until)
        return until

    def lower_rate(self, rate: float) -> bool:
        return self.schedule.lower_rate(rate)
