"""Overlap locks between real processes: refusals name the lock and holder; kill -9 frees them."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.errors import JournalError, LockedError
from runner.locks import acquire_run_locks, lock_dir, plan_lock_path

ROOT = str(Path(__file__).resolve().parents[2])

# Takes the locks, says so, then holds them until killed or until stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from runner.locks import acquire_run_locks
    locks = acquire_run_locks(sys.argv[1], sys.argv[2])
    print("locked", flush=True)
    sys.stdin.read()
    """
)

# Tries the locks once and prints the outcome.
TRIER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from runner.errors import LockedError
    from runner.locks import acquire_run_locks
    try:
        acquire_run_locks(sys.argv[1], sys.argv[2]).close()
    except LockedError as e:
        print("LockedError:", e)
    else:
        print("acquired")
    """
)


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keep lock files out of the machine's real temporary folder, in this and child processes."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text("version: 1\n")
    return p


class Holder:
    def __init__(self, plan: Path | str, journal: Path | str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER.format(root=ROOT), str(plan), str(journal)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "locked\n"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        h.stop()


def try_in_child(plan: Path | str, journal: Path | str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", TRIER.format(root=ROOT), str(plan), str(journal)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.strip()


def test_second_run_of_the_same_plan_is_refused_naming_the_plan_and_holder(
    tmp_path: Path, plan: Path, holders: list[Holder]
) -> None:
    holder = Holder(plan, tmp_path / "j1.jsonl")
    holders.append(holder)
    with pytest.raises(LockedError) as e:
        acquire_run_locks(str(plan), str(tmp_path / "j2.jsonl"))
    msg = str(e.value)
    assert msg.startswith(f"plan {plan} is locked by another run (pid {holder.pid})")
    assert plan_lock_path(str(plan)) in msg
    # Nothing of ours was left behind: the journal we would have used was not even created.
    assert not (tmp_path / "j2.jsonl").exists()


def test_the_plan_lock_is_keyed_by_the_resolved_path(
    tmp_path: Path, plan: Path, holders: list[Holder], monkeypatch: pytest.MonkeyPatch
) -> None:
    holders.append(Holder(plan, tmp_path / "j1.jsonl"))
    link = tmp_path / "link.yaml"
    link.symlink_to(plan)
    monkeypatch.chdir(tmp_path)
    for spelling in ("plan.yaml", "./sub/../plan.yaml", str(link)):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(LockedError, match=rf"^plan {spelling} is locked"):
            acquire_run_locks(spelling, str(tmp_path / "j2.jsonl"))
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\n")
    acquire_run_locks(str(other), str(tmp_path / "j2.jsonl")).close()


def test_second_run_on_the_same_journal_is_refused_naming_the_journal(
    tmp_path: Path, plan: Path, holders: list[Holder]
) -> None:
    journal = tmp_path / "j.jsonl"
    holder = Holder(plan, journal)
    holders.append(holder)
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\n")
    with pytest.raises(LockedError) as e:
        acquire_run_locks(str(other), str(journal))
    msg = str(e.value)
    assert msg.startswith(f"journal {journal} is in use by another run")
    if Path("/proc/locks").exists():
        assert f"(pid {holder.pid})" in msg
    # The plan lock taken before the journal's was given back.
    acquire_run_locks(str(other), str(tmp_path / "j2.jsonl")).close()


def test_a_child_process_is_refused_while_this_one_holds_the_locks(
    tmp_path: Path, plan: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\n")
    with acquire_run_locks(str(plan), str(journal)):
        assert try_in_child(plan, tmp_path / "j2.jsonl") == (
            f"LockedError: plan {plan} is locked by another run (pid {os.getpid()}); "
            f"lock file {plan_lock_path(str(plan))}. Wait for that run to finish."
        )
        assert try_in_child(other, journal).startswith(f"LockedError: journal {journal} is in use")
    assert try_in_child(plan, journal) == "acquired"


def test_locks_are_released_when_the_holder_is_killed_by_sigkill(
    tmp_path: Path, plan: Path, holders: list[Holder]
) -> None:
    journal = tmp_path / "j.jsonl"
    holder = Holder(plan, journal)
    holders.append(holder)
    with pytest.raises(LockedError):
        acquire_run_locks(str(plan), str(journal))
    holder.kill9()
    assert holder.proc.returncode == -signal.SIGKILL
    # The lock files are still there (with a dead pid in them) but bind nobody.
    assert Path(plan_lock_path(str(plan))).exists()
    with acquire_run_locks(str(plan), str(journal)) as locks:
        assert locks.journal_path == str(journal)
        with open(plan_lock_path(str(plan))) as f:
            assert f.readline() == f"{os.getpid()}\n"


def test_lock_folder_and_file_are_private(plan: Path, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with acquire_run_locks(str(plan), str(tmp_path / "j.jsonl")):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(lock_dir()).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(plan_lock_path(str(plan))).st_mode) == 0o600


def test_a_lock_folder_owned_by_someone_else_or_a_symlink_is_refused(
    private_tmp: Path, tmp_path: Path, plan: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (private_tmp / f"revoke-runner-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(LockedError, match="lock folder is not a folder owned by you"):
        acquire_run_locks(str(plan), str(tmp_path / "j.jsonl"))


def test_an_unused_journal_created_for_the_lock_is_removed_and_a_used_one_kept(
    tmp_path: Path, plan: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    with acquire_run_locks(str(plan), str(journal)):
        assert journal.exists()
    assert not journal.exists()
    with acquire_run_locks(str(plan), str(journal)):
        journal.write_text("{}\n")
    assert journal.read_text() == "{}\n"
    # An existing empty journal is someone's file: never removed.
    journal.write_text("")
    with acquire_run_locks(str(plan), str(journal)):
        pass
    assert journal.exists()


def test_resume_needs_an_existing_journal(tmp_path: Path, plan: Path) -> None:
    journal = tmp_path / "missing.jsonl"
    with pytest.raises(JournalError, match=rf"^{journal}: no such journal$"):
        acquire_run_locks(str(plan), str(journal), journal_must_exist=True)
    assert not journal.exists()
    # The plan lock was given back.
    acquire_run_locks(str(plan), str(tmp_path / "j.jsonl")).close()


def test_a_journal_that_is_a_folder_is_a_journal_error(tmp_path: Path, plan: Path) -> None:
    with pytest.raises(JournalError, match="is a directory"):
        acquire_run_locks(str(plan), str(tmp_path))
