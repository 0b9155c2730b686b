"""One compact JSON line for a journal or report entry, the per-target encoding of a run.

orjson rather than the standard library: a run encodes every target twice (its journal line as
it finishes, its report line at the end), and the standard C encoder took ~10 µs per entry here
against ~1 µs (BENCHMARKS.md). Its output is compact UTF-8 with keys in insertion order; JSON
escapes newlines inside strings, so one entry is always one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson


def dumps(obj: Mapping[str, Any]) -> bytes:
    """``obj`` as compact JSON bytes, valid UTF-8 whatever its strings hold."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        # A lone surrogate (a server's "\ud800" escape, decoded) has no UTF-8 form: orjson
        # refuses it, the standard encoder writes it back as an escape.
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("ascii")
