"""Reading Atlas's answers: any body, any header, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.api.answers import bucket_hint, parse_problem, retry_after_seconds

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "atlas-recordings"


def recorded(name: str) -> tuple[dict[str, str], bytes]:
    head, _, body = (RECORDINGS / name).read_bytes().partition(b"\n\n")
    headers = {}
    for line in head.decode().splitlines()[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    return headers, body


def test_recorded_atlas_errors() -> None:
    headers, body = recorded("error-404.http")
    p = parse_problem(body, headers)
    assert p.error_code == "CLUSTER_NOT_FOUND"
    assert p.detail is not None and p.detail.startswith("No cluster named cluster-989")
    assert p.reason == "Not Found" and p.parameters == ("cluster-989", "b0123456789abcdef012345b")
    headers, body = recorded("digest-challenge-401.http")
    assert parse_problem(body, headers).error_code == "UNEXPECTED_ERROR"


def test_error_code_header_when_the_body_is_not_json() -> None:
    p = parse_problem(b"<html><title>502 Bad Gateway</title></html>", {"x-error-code": "X"})
    assert p.error_code == "X" and p.detail == "HTML answer: 502 Bad Gateway"


def test_empty_body() -> None:
    assert parse_problem(b"", None).error_code is None
    assert parse_problem(b"  \n", {}).detail is None


def test_long_details_are_clipped_and_folded() -> None:
    body = json.dumps({"detail": "a\nb " + "x" * 2000}).encode()
    detail = parse_problem(body).detail
    assert detail is not None and len(detail) <= 500 and "\n" not in detail


def test_bucket_parameters_give_a_per_second_refill_rate() -> None:
    body = json.dumps(
        {
            "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
            "parameters": ["/api/atlas/v2/x", 0.25, 20, 40, 1],
        }
    ).encode()
    hint = bucket_hint(parse_problem(body))
    assert hint is not None
    assert (hint.retry_after, hint.capacity, hint.refill_rate) == (0.25, 20, 40)
    slow = json.dumps(
        {"errorCode": "RATE_LIMITED_TOKEN_BUCKET", "parameters": ["/p", 3, 5, 1, 4]}
    ).encode()
    assert bucket_hint(parse_problem(slow)).refill_rate == 0.25  # type: ignore[union-attr]


def test_other_429_bodies_give_no_bucket_hint() -> None:
    body = json.dumps({"errorCode": "RATE_LIMITED", "parameters": ["/p", 1, 2, 3, 4]}).encode()
    assert bucket_hint(parse_problem(body)) is None


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after_seconds({"Retry-After": "3"}, 0) == 3
    assert retry_after_seconds({"retry-after": "1.5"}, 0) == 1.5
    now = 1_780_000_000.0
    assert retry_after_seconds({"Retry-After": "Thu, 28 May 2026 20:26:50 GMT"}, now) == 10.0
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, now) == 0
    for bad in ("soon", "-3", "nan", ""):
        assert retry_after_seconds({"Retry-After": bad}, now) is None
    assert retry_after_seconds({}, now) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.dictionaries(st.text(max_size=20), st.text(max_size=40)))
def test_any_body_and_headers_parse_without_raising(body: bytes, headers: dict[str, str]) -> None:
    p = parse_problem(body, headers)
    bucket_hint(p)
    retry_after_seconds(headers, 0.0)
    assert p.detail is None or len(p.detail) <= 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["error", "errorCode", "detail", "reason", "parameters", "x"]),
        json_values,
    )
)
def test_any_json_shaped_body_parses_without_raising(doc: dict[str, object]) -> None:
    doc.setdefault("errorCode", "RATE_LIMITED_TOKEN_BUCKET")
    p = parse_problem(json.dumps(doc).encode())
    hint = bucket_hint(p)
    if hint is not None:
        for value in (hint.retry_after, hint.capacity, hint.refill_rate):
            assert value is None or value >= 0
