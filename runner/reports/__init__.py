"""Report formats. Every renderer takes the report dict (schema v1, as ``RunRecord.to_report()``
builds it and as ``load_report`` reads it back), so ``run --format`` and ``report`` share one path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from ..errors import UsageError
from . import csv_report, junit, markdown
from .json_report import dumps, load_report, write_atomic

__all__ = [
    "ReportFormat",
    "load_report",
    "parse_formats",
    "render",
    "report_stem",
    "write_report_files",
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
    p = Path(json_path)
    return p.with_name(p.name[:-5]) if p.name.lower().endswith(".json") else p


def write_report_files(
    report: Mapping[str, Any],
    json_path: str | os.PathLike[str],
    formats: Iterable[ReportFormat] = (),
) -> list[Path]:
    """Write the JSON report, then ``<stem><suffix>`` per format; each file atomically.

    The JSON goes first: it is the record of the run, and must exist even if a renderer fails.
    Returns the paths written, JSON first.
    """
    written = [write_atomic(json_path, dumps(report))]
    stem = report_stem(json_path)
    for fmt in formats:
        written.append(write_atomic(stem.with_name(stem.name + fmt.suffix), render(report, fmt)))
    return written
