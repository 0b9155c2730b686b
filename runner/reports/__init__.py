"""Report formats. Every renderer takes the report dict (schema v1, as ``RunRecord.to_report()``
builds it and as ``load_report`` reads it back), so ``run --format`` and ``report`` share one path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from .. import config
from ..errors import UsageError
from ..model import RunRecord
from . import csv_report, junit, markdown
from .json_report import chunks, dumps, load_report, write_atomic

__all__ = [
    "ReportFormat",
    "load_report",
    "parse_formats",
    "render",
    "report_stem",
    "write_report_files",
    "write_run_reports",
]


class ReportFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JUNIT = "junit"

    @property
    def suffix(self) -> str:
        match self:
            case ReportFormat.MD:
                return ".md"
            case ReportFormat.CSV:
                return ".csv"
            case ReportFormat.JUNIT:
                return ".xml"
            case _:
                assert_never(self)


def render(report: Mapping[str, Any], fmt: ReportFormat) -> str:
    match fmt:
        case ReportFormat.MD:
            return markdown.render(report)
        case ReportFormat.CSV:
            return csv_report.render(report)
        case ReportFormat.JUNIT:
            return junit.render(report)
        case _:
            assert_never(fmt)


def parse_formats(text: str | Iterable[str]) -> list[ReportFormat]:
    """``"md,csv"`` (or repeated options) -> formats in the order given, each once."""
    pieces = [text] if isinstance(text, str) else list(text)
    names = [n.strip().lower() for piece in pieces for n in piece.split(",")]
    choices = ", ".join(f.value for f in ReportFormat)
    out: list[ReportFormat] = []
    for name in names:
        if not name:
            raise UsageError(
                f"--format: empty format name in {','.join(pieces)!r}; choose from {choices}"
            )
        try:
            fmt = ReportFormat(name)
        except ValueError:
            raise UsageError(
                f"--format: unknown report format {name!r}; choose from {choices}"
            ) from None
        if fmt not in out:
            out.append(fmt)
    return out


def report_stem(json_path: str | os.PathLike[str]) -> Path:
    """The report path without ``.json``: ``out/run.json`` -> ``out/run``."""
    return Path(config.report_stem(os.fspath(json_path)))


def write_report_files(
    report: Mapping[str, Any],
    json_path: str | os.PathLike[str],
    formats: Iterable[ReportFormat] = (),
) -> list[Path]:
    """Write the JSON report, then ``<stem><suffix>`` per format; each file atomically.

    The JSON goes first: it is the record of the run, and must exist even if a renderer fails.
    Returns the paths written, JSON first.
    """
    written = write_atomic(json_path, dumps(report))
    return [written, *_write_formats(lambda: report, json_path, formats)]


def write_run_reports(
    record: RunRecord, json_path: str | os.PathLike[str], formats: Iterable[ReportFormat] = ()
) -> list[Path]:
    """As ``write_report_files``, for a run: the JSON streams entry by entry from the results,
    so a large run's report is never built whole unless another format asks for it."""
    entries = (r.to_entry() for r in record.results)
    written = write_atomic(json_path, chunks(record.report_head(), entries))
    return [written, *_write_formats(record.to_report, json_path, formats)]


def _write_formats(
    report: Callable[[], Mapping[str, Any]],
    json_path: str | os.PathLike[str],
    formats: Iterable[ReportFormat],
) -> list[Path]:
    formats = list(formats)
    if not formats:
        return []
    data = report()
    stem = report_stem(json_path)
    return [write_atomic(stem.with_name(stem.name + f.suffix), render(data, f)) for f in formats]
