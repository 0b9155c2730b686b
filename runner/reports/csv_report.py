"""CSV: one row per target with the report's target columns, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, Final

from .json_report import TARGET_KEYS

# The report's target keys, in the report's order: one column each.
COLUMNS: Final = TARGET_KEYS


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "history":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(report: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    # RFC 4180 line endings; the csv module quotes fields holding commas, quotes or newlines.
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in report["targets"]:
        writer.writerow([_cell(k, entry.get(k)) for k in COLUMNS])
    return buf.getvalue()
