"""When discovery asks for another page of identity providers."""

from __future__ import annotations

import pytest

from runner.api.client import LIST_PAGE_SIZE, ListPage


@pytest.mark.parametrize(
    ("items", "total", "seen", "more"),
    [
        (LIST_PAGE_SIZE, 1200, 500, True),
        (200, 1200, 1000, True),  # a server serving fewer per page than asked: totalCount rules
        (200, 1200, 1200, False),
        (0, 1200, 1000, False),  # an empty page ends it whatever totalCount claims
        (LIST_PAGE_SIZE, None, 500, True),  # no totalCount: a full page may have a successor
        (499, None, 999, False),
    ],
)
def test_more_after(items: int, total: int | None, seen: int, more: bool) -> None:
    assert ListPage([], items, total).more_after(seen) is more
