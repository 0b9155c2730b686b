"""The JSON report on disk: atomic write, and loading it back for the ``report`` command."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from .. import jsonline
from ..errors import UsageError
from ..model import SCHEMA_VERSION

# The keys every renderer reads; anything else in a report is optional.
REQUIRED_KEYS: Final = (
    "schemaVersion",
    "plan",
    "baseUrl",
    "dryRun",
    "startedAt",
    "finishedAt",
    "durationSeconds",
    "settings",
    "summary",
    "exitCode",
    "aborted",
    "targets",
)
TARGET_KEYS: Final = (
    "federationSettingsId",
    "identityProviderId",
    "label",
    "outcome",
    "httpStatus",
    "errorCode",
    "detail",
    "attempts",
    "startedAt",
    "finishedAt",
    "durationMs",
    "history",
)


def dumps(report: Mapping[str, Any]) -> str:
    head = {k: v for k, v in report.items() if k != "targets"}
    return "".join(chunks(head, report.get("targets", ())))


def chunks(head: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The report as text, piece by piece: the head indented, then one line per target.

    One compact line per target keeps the file readable with grep and diff, is the journal's own
    encoding (``jsonline``, fast; ``indent`` would force json's pure-Python encoder), and,
    streamed, never holds a 100,000-target report in memory twice.
    """
    text = json.dumps({**head, "targets": []}, indent=2, ensure_ascii=False)
    opening, _, _ = text.rpartition("[]")
    yield opening + "["
    first = True
    for entry in entries:
        yield ("\n    " if first else ",\n    ") + jsonline.dumps(entry).decode("utf-8")
        first = False
    yield "]\n}\n" if first else "\n  ]\n}\n"


def write_atomic(path: str | os.PathLike[str], text: str | Iterable[str]) -> Path:
    """Write ``text`` (or its chunks) so ``path`` holds either its old content or all the new.

    The temporary file sits in the same directory (``os.replace`` is atomic only within one file
    system) and is created with ``os.open`` so the usual umask applies, unlike ``mkstemp``'s 0600.
    """
    target = Path(path)
    directory = target.parent
    tmp = directory / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if isinstance(text, str):
                f.write(text)
            else:
                f.writelines(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)
    return target


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or file system lets a directory be opened.
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON report written by ``run``; every problem is a UsageError naming the file."""
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{where}: no such report file") from None
    except IsADirectoryError:
        raise UsageError(f"{where}: is a directory, not a report file") from None
    except PermissionError:
        raise UsageError(f"{where}: permission denied") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{where}: not a JSON report (not UTF-8 text at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UsageError(
            f"{where}:{e.lineno}:{e.colno}: not a JSON report ({e.msg.lower()})"
        ) from None
    except OSError as e:
        raise UsageError(f"{where}: cannot read: {e.strerror or e}") from None
    check_report(data, where)
    assert isinstance(data, dict)
    return data


def check_report(data: Any, where: str) -> None:
    """The shape the renderers rely on; a full schema check is the test suite's job."""
    if not isinstance(data, dict) or "schemaVersion" not in data:
        raise UsageError(f"{where}: not a revoke-runner report (no schemaVersion)")
    version = data["schemaVersion"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise UsageError(
            f"{where}: report schemaVersion {json.dumps(version)} is not supported "
            f"(this revoke-runner reads schemaVersion {SCHEMA_VERSION})"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise UsageError(f"{where}: incomplete report: missing {', '.join(missing)}")
    for key in ("plan", "settings", "summary"):
        if not isinstance(data[key], dict):
            raise UsageError(f"{where}: incomplete report: {key} is not an object")
    if not isinstance(data["targets"], list):
        raise UsageError(f"{where}: incomplete report: targets is not a list")
    for i, entry in enumerate(data["targets"]):
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: targets[{i}] is not an object")
        gaps = [k for k in TARGET_KEYS if k not in entry]
        if gaps:
            raise UsageError(f"{where}: targets[{i}] is missing {', '.join(gaps)}")
        if not isinstance(entry["history"], list):
            raise UsageError(f"{where}: targets[{i}].history is not a list")
