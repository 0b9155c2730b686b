"""The journal: an append-only JSONL record of finished targets, for ``--resume``.

Format (SPEC "Report (JSON)"): each run that appends first writes a header line
``{"journal":1,"plan":{"path":…,"sha256":…},"startedAt":…}``, then one line per finished target,
that target's report entry (``TargetResult.to_entry()``), compact.

Durability: every line goes to the kernel in one ``os.write`` on an ``O_APPEND`` descriptor as its
target finishes, so a ``kill -9`` loses nothing that finished. Surviving a power loss needs an
fsync; one per line would make the journal the run's bottleneck, so a background thread syncs
in groups: after ``sync_every`` lines or ``sync_interval`` seconds, whichever comes first, and at
close.

Reading tolerates exactly what a crash can leave: a torn line at the end of the file, or at the end
of a run that crashed before the next run appended its header (the writer starts that header on a
fresh line). Anything else unreadable is an error: guessing would risk revoking the wrong set.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import jsonline
from .errors import JournalError
from .events import NullObserver
from .model import HEX24, Outcome, TargetResult, rfc3339_ms

JOURNAL_VERSION: Final = 1

# Outcomes of entries that sent nothing: they never replace what an earlier line recorded for the
# same target (a later dry run or skip must not make a resume forget a revocation).
_SENT_NOTHING: Final = frozenset({Outcome.SKIPPED, Outcome.WOULD_REVOKE, Outcome.NOT_ATTEMPTED})

# fdatasync writes the data and the file size, which is all an appended line needs; macOS has
# only fsync.
_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

Key = tuple[str, str]


def _dumps(obj: Mapping[str, Any]) -> bytes:
    return jsonline.dumps(obj) + b"\n"


def _short(sha: str) -> str:
    return sha[:12]


class JournalWriter:
    """Appends a run's header, then one line per finished target; ``close()`` syncs to disk.

    ``append`` runs on the engine's event loop: it costs one ``write`` system call (no fsync).
    One per line, not one per loop iteration: SPEC says a finished target is flushed at once, so
    a killed run loses nothing that finished (a write costs ~2 us here; building the entry more).
    It raises ``JournalError`` when the line cannot be written (disk full, I/O error), and also
    reports there a failure of the background sync.
    """

    def __init__(
        self, fd: int, path: str, *, sync_every: int = 64, sync_interval: float = 0.5
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self._sync_every = max(1, sync_every)
        self._sync_interval = sync_interval
        self._unsynced = 0
        self._dirty = False
        self._closing = False
        self._sync_error: OSError | None = None
        self._kick = threading.Event()
        self.lines = 0
        self.syncs = 0
        # Daemon: a writer someone forgot to close must not keep the process alive; the kernel
        # still holds every line written.
        self._thread = threading.Thread(target=self._sync_loop, name="journal-sync", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        plan_path: str,
        plan_sha256: str,
        started_at: float,
        *,
        sync_every: int = 64,
        sync_interval: float = 0.5,
    ) -> JournalWriter:
        """Open (or create) the journal at ``path`` and write this run's header line.

        Refuses a journal whose existing header lines name another plan. When the file ends in a
        torn line (a killed writer), the header starts on a fresh line so the fragment stays a line
        of its own.
        """
        shown = os.fspath(path)
        try:
            fd = os.open(shown, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as e:
            raise JournalError(f"{shown}: cannot open journal: {e.strerror}") from e
        try:
            size = os.fstat(fd).st_size
            prefix = b""
            if size:
                _check_headers(shown, plan_sha256)
                with open(shown, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        prefix = b"\n"
            else:
                _sync_parent_dir(shown)
            header = {
                "journal": JOURNAL_VERSION,
                "plan": {"path": plan_path, "sha256": plan_sha256},
                "startedAt": rfc3339_ms(started_at),
            }
            _write_all(fd, prefix + _dumps(header))
            # The header is rare and marks the run: make it durable at once.
            _datasync(fd)
        except OSError as e:
            os.close(fd)
            raise JournalError(f"{shown}: cannot write journal: {e.strerror}") from e
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, shown, sync_every=sync_every, sync_interval=sync_interval)

    def append(self, result: TargetResult) -> None:
        """Write one finished target's entry; it is in the kernel when this returns."""
        fd = self._fd
        if fd is None:
            raise JournalError(f"{self.path}: journal is closed")
        self._raise_sync_error()
        try:
            _write_all(fd, _dumps(result.to_entry()))
        except OSError as e:
            raise JournalError(f"{self.path}: cannot write journal: {e.strerror}") from e
        self.lines += 1
        self._dirty = True
        self._unsynced += 1
        if self._unsynced >= self._sync_every:
            self._unsynced = 0
            self._kick.set()

    def close(self) -> None:
        """Stop the sync thread, sync what is left, close. Idempotent."""
        fd = self._fd
        if fd is None:
            return
        self._closing = True
        self._kick.set()
        self._thread.join()
        self._fd = None
        try:
            self._raise_sync_error()
            try:
                _datasync(fd)
                self.syncs += 1
            except OSError as e:
                raise JournalError(f"{self.path}: cannot sync journal: {e.strerror}") from e
        finally:
            os.close(fd)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raise_sync_error(self) -> None:
        if self._sync_error is not None:
            raise JournalError(f"{self.path}: cannot sync journal: {self._sync_error.strerror}")

    def _sync_loop(self) -> None:
        fd = self._fd
        assert fd is not None
        while True:
            self._kick.wait(self._sync_interval)
            self._kick.clear()
            if self._closing:
                return
            if not self._dirty:
                continue
            # Cleared before the sync: a line written meanwhile is either covered by this sync
            # or leaves the flag set for the next one. Never misses, at worst syncs once more.
            self._dirty = False
            try:
                _datasync(fd)
            except OSError as e:
                self._sync_error = e
                return
            self.syncs += 1


class JournalObserver(NullObserver):
    """The journal as a ``RunObserver``: each finished target becomes a journal line.

    Results with outcome ``skipped`` are not written (SPEC: targets skipped on resume are not
    written again). Observers must never raise, so the first write error is kept in ``error``,
    handed to ``on_error`` once, and the journal is left alone for the rest of the run.
    """

    def __init__(
        self, writer: JournalWriter, on_error: Callable[[JournalError], None] | None = None
    ) -> None:
        self.writer = writer
        self.error: JournalError | None = None
        self._on_error = on_error

    def target_finished(self, result: TargetResult) -> None:
        if self.error is not None or result.outcome is Outcome.SKIPPED:
            return
        try:
            self.writer.append(result)
        except JournalError as e:
            self.error = e
            if self._on_error is not None:
                self._on_error(e)


@dataclass(frozen=True, slots=True)
class JournalState:
    """What a journal records, for ``--resume``.

    ``results``: per (federation, IdP) key, the last recorded entry, except that an entry which
    sent nothing (skipped, would_revoke, not_attempted) never replaces an earlier one.
    ``revoked``: the keys whose recorded result is ``revoked``: the targets a resume skips.
    """

    results: Mapping[Key, TargetResult]
    revoked: frozenset[Key]
    warnings: tuple[str, ...]
    runs: int


def read_journal(path: str | os.PathLike[str], plan_sha256: str) -> JournalState:
    """Read a journal for resuming the plan whose sha256 is ``plan_sha256``.

    Raises ``JournalError`` for a missing file, a journal of another plan, or an unreadable line
    other than a torn one (the file's last line, or the last line before a run's header).
    """
    shown = os.fspath(path)
    try:
        with open(shown, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise JournalError(f"{shown}: no such journal") from None
    except IsADirectoryError:
        raise JournalError(f"{shown}: is a directory, not a journal") from None
    except OSError as e:
        raise JournalError(f"{shown}: cannot read journal: {e.strerror}") from e

    lines = data.split(b"\n")
    # A file that ends in "\n" splits into a last empty piece; anything else there is a line
    # whose write never completed (its data may still be whole: only the newline is missing).
    if not lines[-1].strip():
        lines.pop()

    results: dict[Key, TargetResult] = {}
    warnings: list[str] = []
    runs = 0
    pending: tuple[int, str] | None = None  # an unreadable line, torn if a header follows

    def warn_torn(lineno: int, why: str) -> None:
        warnings.append(
            f"{shown}:{lineno}: ignoring a torn line ({why}) left by a run killed while writing it"
        )

    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj, why = _parse(raw)
        if pending is not None:
            # An unreadable line is excusable only right before a header: the writer starts
            # each run's header on a fresh line after whatever a killed run left.
            if obj is None or "journal" not in obj:
                raise JournalError(f"{shown}:{pending[0]}: unreadable line: {pending[1]}")
            warn_torn(*pending)
            pending = None
        if obj is None:
            pending = (lineno, why)
            continue
        if "journal" in obj:
            _check_header(f"{shown}:{lineno}", obj, plan_sha256)
            runs += 1
            continue
        if runs == 0:
            raise JournalError(f"{shown}:{lineno}: target entry before any journal header line")
        result = _entry(f"{shown}:{lineno}", obj)
        key = result.target.key
        if result.outcome not in _SENT_NOTHING or key not in results:
            results[key] = result
    if pending is not None:
        # The file's last line: where a killed or crashed writer stops.
        warn_torn(*pending)

    revoked = frozenset(k for k, r in results.items() if r.outcome is Outcome.REVOKED)
    return JournalState(results=results, revoked=revoked, warnings=tuple(warnings), runs=runs)


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        # Decoded here: json.loads would guess UTF-16 from some byte pairs.
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at column {e.colno}"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, ""


def _check_header(where: str, obj: Mapping[str, Any], plan_sha256: str) -> None:
    version = obj.get("journal")
    if version != JOURNAL_VERSION:
        raise JournalError(f"{where}: unsupported journal version {version!r} (expected 1)")
    plan = obj.get("plan")
    sha = plan.get("sha256") if isinstance(plan, dict) else None
    if not isinstance(sha, str):
        raise JournalError(f"{where}: journal header without plan.sha256")
    if sha != plan_sha256:
        raise JournalError(
            f"{where}: this journal belongs to another plan (sha256 {_short(sha)}…, the plan "
            f"being run is {_short(plan_sha256)}…): the plan changed: start a new journal"
        )


def _entry(where: str, obj: Mapping[str, Any]) -> TargetResult:
    try:
        for id_key in ("federationSettingsId", "identityProviderId"):
            value = obj[id_key]
            if not isinstance(value, str) or not HEX24.match(value):
                raise ValueError(f"{id_key} {value!r} is not 24 lowercase hex characters")
        if not isinstance(obj["history"], list):
            raise ValueError("history is not a list")
        label = obj["label"]
        if label is not None and not isinstance(label, str):
            raise ValueError("label is neither text nor null")
        return TargetResult.from_entry(obj)
    except KeyError as e:
        raise JournalError(f"{where}: not a journal entry: missing key {e.args[0]!r}") from None
    except (ValueError, TypeError, AttributeError) as e:
        raise JournalError(f"{where}: not a journal entry: {e}") from None


def _check_headers(path: str, plan_sha256: str) -> None:
    """Refuse to append to a journal of another plan, reading only its header lines."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            # Headers are written compactly, so they start with these bytes; entries never do.
            if raw.startswith(b'{"journal"'):
                obj, _ = _parse(raw)
                if obj is not None:
                    _check_header(f"{path}:{lineno}", obj, plan_sha256)


def _write_all(fd: int, data: bytes) -> None:
    # A regular file takes the whole buffer in one write in practice; the loop covers a short
    # write (e.g. a signal) so a line is never silently cut.
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _sync_parent_dir(path: str) -> None:
    """Make a new journal's directory entry durable (once, when it is created)."""
    try:
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
