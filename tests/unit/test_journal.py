"""The journal: round trips, crash leftovers (real SIGKILLed writers, torn lines), refusals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner.errors import JournalError
from runner.events import Fanout, RunObserver
from runner.journal import JournalObserver, JournalWriter, read_journal
from runner.model import Attempt, AttemptError, Outcome, Target, TargetResult

SHA = "a" * 64
OTHER_SHA = "b" * 64
T0 = 1_780_000_000.0


def target(i: int) -> Target:
    return Target(f"{i:024x}", f"{i + 1:024x}", label=f"idp-{i}")


def result(i: int, outcome: Outcome = Outcome.REVOKED, label: str | None = None) -> TargetResult:
    t = target(i) if label is None else Target(f"{i:024x}", f"{i + 1:024x}", label=label)
    if outcome is Outcome.REVOKED:
        history: tuple[Attempt, ...] = (
            Attempt(at=T0 + i, http_status=503, error_code="SERVICE_UNAVAILABLE", ms=12.3),
            Attempt(at=T0 + i + 0.5, http_status=204, ms=40.0),
        )
        status: int | None = 204
    elif outcome is Outcome.FAILED:
        history = (Attempt(at=T0 + i, error=AttemptError.INTERRUPTED),)
        status = None
    else:
        history, status = (), None
    return TargetResult(
        target=t,
        outcome=outcome,
        http_status=status,
        detail='naïve "quote"\nsecond line' if outcome is Outcome.FAILED else None,
        history=history,
        started_at=T0 + i if history else None,
        finished_at=T0 + i + 0.6 if history else None,
    )


def write(path: Path, results: list[TargetResult], sha: str = SHA) -> None:
    with JournalWriter.open(path, "plans/p.yaml", sha, T0) as w:
        for r in results:
            w.append(r)


def test_round_trip_keeps_every_field_and_writes_compact_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    written = [result(0), result(2, Outcome.FAILED), result(4, label="ünïcode ☃")]
    write(path, written)

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert json.loads(lines[0]) == {
        "journal": 1,
        "plan": {"path": "plans/p.yaml", "sha256": SHA},
        "startedAt": "2026-05-28T20:26:40.000Z",
    }
    assert [json.loads(x) for x in lines[1:-1]] == [r.to_entry() for r in written]
    assert b", " not in lines[1] and b": " not in lines[1]

    state = read_journal(path, SHA)
    assert state.warnings == ()
    assert state.runs == 1
    assert [r.to_entry() for r in state.results.values()] == [r.to_entry() for r in written]
    assert state.revoked == {target(0).key, target(4).key}


def test_missing_journal_is_an_error_and_an_empty_one_records_nothing(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"nope\.jsonl: no such journal"):
        read_journal(tmp_path / "nope.jsonl", SHA)
    (tmp_path / "empty.jsonl").write_bytes(b"")
    state = read_journal(tmp_path / "empty.jsonl", SHA)
    assert dict(state.results) == {} and state.revoked == frozenset()
    assert state.warnings == () and state.runs == 0


def test_several_runs_append_headers_and_the_last_result_per_target_wins(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0, Outcome.FAILED), result(2, Outcome.REVOKED)])
    write(path, [result(0, Outcome.REVOKED), result(4, Outcome.FAILED)])
    # A later run that sent nothing for a target does not erase the revocation recorded for it.
    write(path, [result(2, Outcome.WOULD_REVOKE), result(6, Outcome.NOT_ATTEMPTED)])

    headers = [ln for ln in path.read_text().splitlines() if ln.startswith('{"journal"')]
    assert len(headers) == 3
    state = read_journal(path, SHA)
    assert state.runs == 3
    assert {k: r.outcome for k, r in state.results.items()} == {
        target(0).key: Outcome.REVOKED,
        target(2).key: Outcome.REVOKED,
        target(4).key: Outcome.FAILED,
        target(6).key: Outcome.NOT_ATTEMPTED,
    }
    assert state.revoked == {target(0).key, target(2).key}


def test_a_later_failure_replaces_an_earlier_revocation(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0, Outcome.REVOKED)])
    write(path, [result(0, Outcome.FAILED)])
    assert read_journal(path, SHA).revoked == frozenset()


def test_journal_of_another_plan_is_refused_naming_both_hashes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0)])
    write(path, [result(2)])  # same plan: fine
    with pytest.raises(JournalError) as e:
        read_journal(path, OTHER_SHA)
    msg = str(e.value)
    assert f"{path}:1:" in msg and SHA[:12] in msg and OTHER_SHA[:12] in msg
    assert "start a new journal" in msg
    # And a second header of another plan, further down, is caught too.
    text = path.read_text().splitlines()
    text.insert(2, json.dumps({"journal": 1, "plan": {"path": "x", "sha256": OTHER_SHA}}))
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(JournalError, match=rf"{path}:3: .*another plan"):
        read_journal(path, SHA)


def test_appending_to_a_journal_of_another_plan_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0)])
    before = path.read_bytes()
    with pytest.raises(JournalError, match="another plan"):
        JournalWriter.open(path, "plans/q.yaml", OTHER_SHA, T0)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (b"this is not json", "unreadable line: not JSON"),
        (b"\xff\xfe{}", "unreadable line: not UTF-8"),
        (b"[1, 2]", "unreadable line: not a JSON object"),
        (
            json.dumps({"federationSettingsId": "0" * 24}).encode(),
            "not a journal entry: missing key 'identityProviderId'",
        ),
        (
            json.dumps({**result(9).to_entry(), "identityProviderId": 12}).encode(),
            "identityProviderId 12 is not 24 lowercase hex",
        ),
        (
            json.dumps({**result(9).to_entry(), "outcome": "exploded"}).encode(),
            "not a journal entry: 'exploded' is not a valid Outcome",
        ),
        (json.dumps({"journal": 2}).encode(), "unsupported journal version 2"),
    ],
)
def test_an_unreadable_line_in_the_middle_is_an_error_naming_it(
    tmp_path: Path, bad: bytes, why: str
) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0), result(2)])
    lines = path.read_bytes().split(b"\n")
    lines.insert(2, bad)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError) as e:
        read_journal(path, SHA)
    assert str(e.value).startswith(f"{path}:3: ")
    assert why in str(e.value)


def test_a_complete_but_invalid_last_line_is_an_error_not_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0)])
    with path.open("ab") as f:
        f.write(b'{"outcome": "revoked"}')  # valid JSON, no newline: not a cut-off write
    with pytest.raises(JournalError, match=rf"{path}:3: not a journal entry"):
        read_journal(path, SHA)


def test_entry_before_any_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps(result(0).to_entry()) + "\n")
    with pytest.raises(JournalError, match=rf"{path}:1: target entry before any journal header"):
        read_journal(path, SHA)


def test_a_journal_cut_at_any_byte_keeps_every_whole_line(tmp_path: Path) -> None:
    """What a writer killed mid-write leaves, at every possible point of the last line."""
    full = tmp_path / "full.jsonl"
    write(full, [result(0), result(2), result(4, Outcome.FAILED)])
    data = full.read_bytes()
    last_start = data.rindex(b"\n", 0, len(data) - 1) + 1
    cut = tmp_path / "cut.jsonl"
    for end in range(last_start, len(data) + 1):
        cut.write_bytes(data[:end])
        state = read_journal(cut, SHA)
        whole = end >= len(data) - 1  # everything but, at most, the newline
        assert set(state.results) == (
            {target(0).key, target(2).key, target(4).key}
            if whole
            else {target(0).key, target(2).key}
        ), end
        if whole or end == last_start:
            assert state.warnings == (), end
        else:
            assert len(state.warnings) == 1, end
            assert state.warnings[0].startswith(f"{cut}:4: ignoring a torn line"), end


def test_a_new_run_after_a_torn_line_starts_on_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0), result(2)])
    data = path.read_bytes()
    path.write_bytes(data[:-25])  # the second entry loses its tail
    write(path, [result(2), result(4)])
    lines = path.read_bytes().split(b"\n")
    assert lines[3].startswith(b'{"journal":1,')  # not glued onto the fragment on line 3
    state = read_journal(path, SHA)
    assert state.runs == 2
    assert set(state.results) == {target(0).key, target(2).key, target(4).key}
    assert len(state.warnings) == 1 and state.warnings[0].startswith(f"{path}:3: ignoring a torn")
    # A third run on top: the old fragment is still excused, and only it.
    write(path, [result(6)])
    state = read_journal(path, SHA)
    assert state.runs == 3 and len(state.results) == 4 and len(state.warnings) == 1


def test_two_torn_looking_lines_in_a_row_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, [result(0)])
    with path.open("ab") as f:
        f.write(b'{"federationSett\n{"journ')
    with pytest.raises(JournalError, match=rf"{path}:3: unreadable line"):
        read_journal(path, SHA)


CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.unit.test_journal import result, SHA, T0
    from runner.journal import JournalWriter

    w = JournalWriter.open(sys.argv[1], "plans/p.yaml", SHA, T0)
    i = 0
    while True:
        w.append(result(2 * i))
        i += 1
        print(i, flush=True)
    """
)


@pytest.mark.parametrize("kill_after", [1, 40, 700])
def test_a_writer_killed_by_sigkill_loses_nothing_it_reported_written(
    tmp_path: Path, kill_after: int
) -> None:
    path = tmp_path / "j.jsonl"
    root = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=root), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        written = 0
        for line in child.stdout:
            written = int(line)
            if written >= kill_after:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert written >= kill_after

    state = read_journal(path, SHA)
    # Whatever the child wrote after its last report may be there too, as whole lines.
    assert len(state.results) >= written
    assert set(state.results) == {target(2 * i).key for i in range(len(state.results))}
    assert len(state.warnings) <= 1
    # The next run appends after whatever the kill left, and the journal stays readable.
    write(path, [result(1)])
    assert read_journal(path, SHA).runs == 2


def test_group_sync_is_not_per_line_and_a_quiet_journal_is_synced_soon(tmp_path: Path) -> None:
    with JournalWriter.open(tmp_path / "a.jsonl", "p", SHA, T0, sync_interval=60) as w:
        for i in range(640):
            w.append(result(i))
        assert w.lines == 640
    assert 1 <= w.syncs <= 640 // 64 + 1

    w = JournalWriter.open(tmp_path / "b.jsonl", "p", SHA, T0, sync_interval=0.05)
    try:
        w.append(result(0))
        deadline = time.monotonic() + 10
        while w.syncs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert w.syncs >= 1  # without a close, and with far fewer than 64 lines
    finally:
        w.close()
        w.close()  # idempotent
    with pytest.raises(JournalError, match="journal is closed"):
        w.append(result(2))


def test_observer_writes_finished_targets_but_not_skipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    writer = JournalWriter.open(path, "p", SHA, T0)
    obs = JournalObserver(writer)
    fan: RunObserver = Fanout([obs])
    fan.target_finished(result(0))
    fan.target_finished(result(2, Outcome.SKIPPED))
    fan.target_finished(result(4, Outcome.FAILED))
    writer.close()
    assert set(read_journal(path, SHA).results) == {target(0).key, target(4).key}

    # A write error reaches on_error once and never escapes into the engine.
    seen: list[JournalError] = []
    obs = JournalObserver(writer, on_error=seen.append)
    obs.target_finished(result(6))
    obs.target_finished(result(8))
    assert len(seen) == 1 and obs.error is seen[0]


def test_unwritable_journal_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=rf"{tmp_path}: cannot open journal"):
        JournalWriter.open(tmp_path, "p", SHA, T0)
    with pytest.raises(JournalError, match="is a directory"):
        read_journal(tmp_path, SHA)


def test_new_journal_file_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write(tmp_path / "j.jsonl", [])
    finally:
        os.umask(old)
    assert (tmp_path / "j.jsonl").stat().st_mode & 0o777 == 0o640


def test_on_an_event_loop_each_line_is_in_the_kernel_when_append_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"

    async def scenario() -> None:
        with JournalWriter.open(path, "p", SHA, T0) as w:
            for i in range(0, 20, 2):
                w.append(result(i))
                # SPEC: flushed per finished target, so a kill loses nothing that finished.
                assert path.read_bytes().count(b"\n") == 1 + i // 2 + 1

    asyncio.run(scenario())
    assert len(read_journal(path, SHA).results) == 10
