"""The pacing schedule, on a virtual clock: pace, burst 1, no drift, pause, lower rate."""

from __future__ import annotations

import bisect

import anyio
import pytest

from runner.pacing import HOLD_MARGIN, Credit, Pacer, Schedule, parse_remaining


def starts(schedule: Schedule, n: int, now: float = 0.0) -> list[float]:
    """When n callers arriving at ``now`` get their slots."""
    return [now + schedule.reserve(now) for _ in range(n)]


def busiest_window(times: list[float], width: float = 1.0) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


def test_slots_are_spaced_by_the_rate_with_burst_one() -> None:
    assert starts(Schedule(4), 5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_unlimited_rate_never_waits() -> None:
    assert starts(Schedule(0), 100) == [0.0] * 100


def test_the_pace_does_not_drift_when_callers_are_late() -> None:
    s = Schedule(10)
    late = [s.reserve(t) + t for t in (0.0, 0.13, 0.21, 0.35)]
    # Each slot counts from the previous slot, not from the late caller's arrival.
    assert late == pytest.approx([0.0, 0.13, 0.23, 0.35])


def test_no_one_second_window_holds_more_than_rate_plus_one() -> None:
    s = Schedule(50)
    times = starts(s, 500)
    assert busiest_window(times) <= 51


def test_a_pause_pushes_every_slot_past_its_end() -> None:
    s = Schedule(10)
    s.reserve(0.0)
    s.pause_until(2.0)
    assert starts(s, 2, now=0.5) == pytest.approx([2.0, 2.1])


def test_lower_rate_only_slows_down() -> None:
    s = Schedule(0)
    assert s.lower_rate(40)
    assert not s.lower_rate(50)
    assert not s.lower_rate(0)
    assert s.rate == 40


def test_pacer_waits_on_its_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def go() -> None:
        pacer = Pacer(5, clock=lambda: now[0], sleep=sleep)
        for _ in range(3):
            await pacer.acquire()

    anyio.run(go)
    assert slept == pytest.approx([0.2, 0.2])


def test_a_pause_that_begins_while_waiting_voids_the_slot() -> None:
    now = [0.0]
    pacer: Pacer

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] < 1.0:
            pacer.pause_for(2.0)  # a 429 arrived while this caller slept

    async def go() -> None:
        nonlocal pacer
        pacer = Pacer(10, clock=lambda: now[0], sleep=sleep)
        await pacer.acquire()
        await pacer.acquire()

    anyio.run(go)
    assert now[0] >= 2.1 - 1e-9


def test_late_callers_do_not_crowd_a_second() -> None:
    s = Schedule(10)
    slots = starts(s, 30)
    # The loop was blocked for 0.5 s: callers wake late, all at once, at 0.5 .. 1.0 s.
    actual: list[float] = []
    for slot in slots:
        now = max(slot, 0.5 if slot < 0.5 else slot)
        while (wait := s.hold(now)) > 0:
            now += wait
        actual.append(now)
    assert busiest_window(actual) <= 11
    # The schedule itself did not move: the run still ends on time.
    assert actual[-1] == pytest.approx(slots[-1], abs=0.11)


def test_hold_never_delays_starts_on_schedule() -> None:
    s = Schedule(50)
    assert all(s.hold(t) == 0 for t in starts(s, 200))


# ---- Credit: Ratelimit-Remaining caps the requests in flight ---------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19", 19),
        (" 0 ", 0),
        ("300", 300),
        (None, None),
        ("", None),
        ("-1", None),
        ("1.5", None),
        ("abc", None),
        ("²", None),  # a Unicode digit, not a count
        ("9" * 40, None),
    ],
)
def test_parse_remaining(value: str | None, expected: int | None) -> None:
    assert parse_remaining(value) == expected


# Each row: the events so far, then whether one more request may start. Events: "s" a start,
# an int or str the end of a request whose answer said that Remaining ("-" : answered without
# the header, "x": no answer at all).
Event = str | int


def replay(events: list[Event]) -> Credit:
    c = Credit()
    for e in events:
        if e == "s":
            assert c.may_start(), f"a start the credit refused, in {events}"
            c.start()
        elif e == "x":
            c.end(None, answered=False)
        elif e == "-":
            c.end(None, answered=True)
        else:
            c.end(str(e), answered=True)
    return c


@pytest.mark.parametrize(
    ("events", "may_start"),
    [
        ([], True),  # the first request: nothing in flight
        (["s"], False),  # before any answer, only that one
        (["s", "x"], True),  # no answer: it is still the probe's turn
        (["s", "x", "s"], False),
        (["s", 19], True),
        (["s", 19] + ["s"] * 18, True),  # 18 in flight < 19 remaining
        (["s", 19] + ["s"] * 19, False),  # 19 in flight: all the bucket holds
        (["s", 19, "s", "s", 0], False),  # the bucket is empty and one is still in flight
        (["s", 19, "s", "s", 0, 0], True),  # nothing in flight: the probe, never a stall
        (["s", 0, "s"], False),  # one probe at a time
        (["s", 2, "s", "s", "x"], True),  # a lost answer frees its place, keeps the credit
        (["s", 2, "s", "s", "-"], True),  # an answer without the header: the same
        (["s", 2, "s", "s", "-", "s"], False),  # ... and the old credit still caps
        (["s", 1, "s", "junk"], True),  # a malformed header is ignored
        (["s", "-"] + ["s"] * 64, True),  # a server without the header: no cap at all
        (["s", 5, "s", "s", "s", 300], True),  # a later, larger answer reopens
    ],
)
def test_credit(events: list[Event], may_start: bool) -> None:
    assert replay(events).may_start() is may_start


def test_credit_in_flight_never_goes_negative() -> None:
    c = Credit()
    c.end("3", answered=True)
    assert c.in_flight == 0
    assert c.may_start()


def test_a_request_waiting_for_credit_starts_when_an_answer_frees_it() -> None:
    order: list[str] = []

    async def go() -> None:
        pacer = Pacer(0)

        async def worker(name: str) -> None:
            await pacer.acquire()
            pacer.started()
            order.append(f"start {name}")

        await worker("probe")
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker, "a")
            tg.start_soon(worker, "b")
            await anyio.wait_all_tasks_blocked()
            assert order == ["start probe"]  # no answer yet: nothing else goes
            pacer.ended({"Ratelimit-Remaining": "1"})
            await anyio.wait_all_tasks_blocked()
            assert order == ["start probe", "start a"]  # one remains: one goes
            pacer.ended({"Ratelimit-Remaining": "5"})
        assert order == ["start probe", "start a", "start b"]

    anyio.run(go)


def test_a_request_cancelled_while_waiting_for_credit_takes_none() -> None:
    async def go() -> None:
        pacer = Pacer(0)
        await pacer.acquire()
        pacer.started()
        with anyio.move_on_after(0.05) as scope:  # as the run's pacer does when the run stops
            await pacer.acquire()
        assert scope.cancelled_caught
        assert pacer.credit.in_flight == 1
        pacer.ended(None)
        assert pacer.credit.in_flight == 0 and pacer.credit.may_start()

    anyio.run(go)


@pytest.mark.anyio
async def test_close_turns_away_waiters_and_newcomers() -> None:
    from runner.errors import NotStarted

    pacer = Pacer(1.0)  # one start a second: the second caller has to wait
    await pacer.acquire()
    outcomes: list[str] = []

    async def second() -> None:
        try:
            await pacer.acquire()
            outcomes.append("sent")
        except NotStarted:
            outcomes.append("not started")

    async with anyio.create_task_group() as tg:
        tg.start_soon(second)
        await anyio.sleep(0.05)
        pacer.close()
    assert outcomes == ["not started"]
    with pytest.raises(NotStarted):
        await pacer.acquire()


def test_fast_rates_keep_a_margin_for_the_way_to_the_server_and_lose_under_half_a_percent() -> None:
    rate = 500
    s = Schedule(rate)
    actual: list[float] = []
    for slot in starts(s, 5 * rate):
        now = slot
        while (wait := s.hold(now)) > 0:
            now += wait
        actual.append(now)
    # Any window of 1 s + margin holds R + 1 starts at most: arrivals that lag by up to the
    # margin more than their neighbours still fall R + 1 to a second.
    assert busiest_window(actual, 1.0 + HOLD_MARGIN) <= rate + 1
    measured = (len(actual) - 1) / (actual[-1] - actual[0])
    assert rate * (1 - 0.005) <= measured <= rate
