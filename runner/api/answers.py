"""Reading Atlas's answers: error bodies, Retry-After, the token bucket's parameters. Pure.

Any body may come back: Atlas's JSON error, a proxy's HTML page, nothing at all, or garbage.
Every function here takes whatever arrived and never raises.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

_MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class ApiProblem:
    """What an error answer says, as far as it says anything."""

    error_code: str | None = None
    detail: str | None = None
    reason: str | None = None
    parameters: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class BucketHint:
    """A ``RATE_LIMITED_TOKEN_BUCKET`` body's parameters; ``refill_rate`` in requests/s."""

    retry_after: float | None
    capacity: float | None
    refill_rate: float | None


def parse_problem(body: bytes, headers: Mapping[str, str] | None = None) -> ApiProblem:
    code_header = _header(headers, "X-Error-Code")
    try:
        doc = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        return ApiProblem(error_code=code_header, detail=_text_summary(body))
    params = doc.get("parameters")
    return ApiProblem(
        error_code=_str_or_none(doc.get("errorCode")) or code_header,
        detail=_clip(_str_or_none(doc.get("detail"))),
        reason=_clip(_str_or_none(doc.get("reason"))),
        parameters=tuple(params) if isinstance(params, list) else (),
    )


def bucket_hint(problem: ApiProblem) -> BucketHint | None:
    """[path, retryAfterSeconds, capacity, refillRate, refillSeconds], where Atlas sends them."""
    if problem.error_code != "RATE_LIMITED_TOKEN_BUCKET" or not problem.parameters:
        return None
    p = problem.parameters
    refill = _positive(p[3]) if len(p) > 3 else None
    per = _positive(p[4]) if len(p) > 4 else None
    # refillRate tokens come back every refillSeconds: the sustainable pace is their quotient.
    if refill is not None and per:
        refill = refill / per
    return BucketHint(
        retry_after=_positive(p[1]) if len(p) > 1 else None,
        capacity=_positive(p[2]) if len(p) > 2 else None,
        refill_rate=refill or None,
    )


def retry_after_seconds(headers: Mapping[str, str] | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date."""
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return _positive(float(value)) if value else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if headers is None:
        return None
    # aiohttp's headers are case-insensitive already; plain dicts from tests may not be.
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def _positive(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float):
        f = float(x)
    elif isinstance(x, str):
        try:
            f = float(x)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) and f >= 0 else None


def _str_or_none(x: object) -> str | None:
    return x if isinstance(x, str) and x else None


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _text_summary(body: bytes) -> str | None:
    """A proxy's HTML or plain text: its first words, so the report says who answered."""
    if not body.strip():
        return None
    text = body[:4096].decode("utf-8", errors="replace")
    if "<" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title and title.group(1).strip():
            return _clip("HTML answer: " + title.group(1))
        text = re.sub(r"<[^>]*>", " ", text)
        return _clip("HTML answer: " + text) if text.strip() else "HTML answer"
    return _clip(text)
