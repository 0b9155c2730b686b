"""Overlap locks: one run per plan and one per journal, at a time (SPEC "Overlap").

Both are exclusive, non-blocking ``flock`` locks. The kernel drops them when their holder dies,
even by ``kill -9``, so there is never a stale lock to clean up; a lock file that outlives its run
is inert.

- Plan: a lock file in a per-user folder under the temporary directory, named by the sha256 of the
  plan's absolute, resolved path (the plan's own folder may be read-only, and two spellings of one
  path must meet). It holds the holder's pid, for the message a second run prints.
- Journal: the journal file itself, created if missing. It needs no lock file beside every
  journal (default journals are named per run, so sidecars would pile up in the user's folder), it
  stays with the data it protects whatever path spelling reaches it, and it works across users,
  where a per-user lock folder would not. The holder's pid comes from ``/proc/locks`` where there
  is one. A journal this lock created and nobody wrote to is removed again on release, so a run
  that stops before it starts leaves no empty file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import tempfile
from typing import Final

from .errors import JournalError, LockedError

LOCK_DIR_PREFIX: Final = "revoke-runner-"


def lock_dir() -> str:
    """This user's lock folder, created 0700; refused if someone else owns it."""
    path = os.path.join(tempfile.gettempdir(), f"{LOCK_DIR_PREFIX}{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    # The temporary folder is shared: a folder planted there by another user (or a symlink) could
    # hand our locks to someone else.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise LockedError(f"{path}: lock folder is not a folder owned by you; remove it")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def plan_lock_path(plan_path: str) -> str:
    resolved = os.path.realpath(os.path.abspath(plan_path))
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()
    return os.path.join(lock_dir(), f"{digest}.lock")


class RunLocks:
    """The two locks of one run; ``close()`` (or leaving the ``with`` block) releases both."""

    def __init__(self, plan_fd: int, journal_fd: int, journal_path: str, created: bool) -> None:
        self._plan_fd: int | None = plan_fd
        self._journal_fd: int | None = journal_fd
        self.journal_path = journal_path
        self._created_journal = created

    def close(self) -> None:
        if self._journal_fd is not None:
            fd, self._journal_fd = self._journal_fd, None
            try:
                # Still locked here, so no other run can be using the file being removed.
                if self._created_journal and os.fstat(fd).st_size == 0:
                    with contextlib.suppress(OSError):
                        if os.path.samestat(os.stat(self.journal_path), os.fstat(fd)):
                            os.unlink(self.journal_path)
            finally:
                os.close(fd)
        if self._plan_fd is not None:
            fd, self._plan_fd = self._plan_fd, None
            os.close(fd)

    def __enter__(self) -> RunLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def acquire_run_locks(
    plan_path: str, journal_path: str, *, journal_must_exist: bool = False
) -> RunLocks:
    """Take the plan lock, then the journal lock; never waits.

    ``plan_path`` and ``journal_path`` are shown in messages as given. Raises ``LockedError`` when
    another process holds either (naming which, its path and, where known, the holder's pid), and
    ``JournalError`` when the journal cannot be opened, or is missing with ``journal_must_exist``
    (``--resume``: a mistyped journal must not become an empty one that resumes nothing).
    """
    plan_fd = _lock_plan(plan_path)
    try:
        journal_fd, created = _lock_journal(journal_path, journal_must_exist)
    except BaseException:
        os.close(plan_fd)
        raise
    return RunLocks(plan_fd, journal_fd, journal_path, created)


def _lock_plan(plan_path: str) -> int:
    path = plan_lock_path(plan_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise LockedError(
            f"{path}: cannot open the lock file of plan {plan_path}: {e.strerror}"
        ) from e
    if not _try_flock(fd):
        pid = _pid_from_file(fd)
        os.close(fd)
        raise LockedError(
            f"plan {plan_path} is locked by another run{_by(pid)}; lock file {path}. "
            "Wait for that run to finish."
        )
    # For the message of the next run that finds this lock held; the lock itself is the flock.
    # The path is there for whoever opens the file by hand.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n{os.path.realpath(plan_path)}\n".encode(), 0)
    return fd


def _lock_journal(journal_path: str, must_exist: bool) -> tuple[int, bool]:
    created = False
    try:
        try:
            fd = os.open(journal_path, os.O_RDONLY)
        except FileNotFoundError:
            if must_exist:
                raise JournalError(f"{journal_path}: no such journal") from None
            fd = os.open(journal_path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o666)
            created = True
    except FileExistsError:
        # Created by someone else between our two opens: lock whatever is there now.
        return _lock_journal(journal_path, must_exist)
    except OSError as e:
        raise JournalError(f"{journal_path}: cannot open journal: {e.strerror}") from e
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise JournalError(f"{journal_path}: is a directory, not a journal")
    if not _try_flock(fd):
        pid = _pid_from_proc_locks(fd)
        os.close(fd)
        raise LockedError(
            f"journal {journal_path} is in use by another run{_by(pid)}. "
            "Wait for that run to finish, or give this run another --journal."
        )
    return fd, created


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _by(pid: int | None) -> str:
    return f" (pid {pid})" if pid else ""


def _pid_from_file(fd: int) -> int | None:
    try:
        first = os.pread(fd, 64, 0).split(b"\n", 1)[0]
        return int(first) if first.strip() else None
    except (OSError, ValueError):
        return None


def _pid_from_proc_locks(fd: int) -> int | None:
    """The pid holding an flock on ``fd``'s file, from Linux's ``/proc/locks``; None elsewhere.

    Lines read ``1: FLOCK  ADVISORY  WRITE 4137 fe:00:2146664 0 EOF`` (pid, then device major and
    minor in hex and the inode in decimal). A holder in another pid namespace shows as 0.
    """
    st = os.fstat(fd)
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":  # "->" marks waiters: never the holder
            continue
        try:
            major, minor, inode = fields[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == want:
                return int(fields[4]) or None
        except ValueError:
            continue
    return None
