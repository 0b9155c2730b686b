"""Resolve ``identityProviders: all`` entries: every OIDC IdP of each federation, every page.

All of it happens before any DELETE; one federation that cannot be listed stops the run with
nothing revoked, naming each federation that failed and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from .api.client import AtlasClient
from .errors import AttemptFailed, DiscoveryError, StopRun
from .model import Attempt, Target
from .retrying import retry_policy


async def discover(
    client: AtlasClient,
    federation_ids: Sequence[str],
    *,
    max_attempts: int,
    max_targets: int,
) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = {}
    failures: dict[str, str] = {}
    for fed in dict.fromkeys(federation_ids):
        try:
            found[fed] = await _list_all(client, fed, max_attempts, max_targets)
        except StopRun:
            raise
        except AttemptFailed as exc:
            failures[fed] = _why(exc)
        if sum(len(v) for v in found.values()) > max_targets:
            raise DiscoveryError(
                f"discovery found more than {max_targets} identity providers; nothing was revoked"
            )
    if failures:
        lines = "; ".join(f"federation {fed}: {why}" for fed, why in failures.items())
        raise DiscoveryError(f"discovery failed, nothing was revoked: {lines}")
    return found


async def _list_all(
    client: AtlasClient, fed: str, max_attempts: int, max_targets: int
) -> list[Target]:
    targets: list[Target] = []
    history: list[Attempt] = []
    page_num, seen, more = 1, 0, True
    while more:
        async for attempt in retry_policy(max_attempts, sleep=anyio.sleep):
            with attempt:
                page = await client.list_oidc_page(fed, page_num, history.append)
        targets.extend(page.targets)
        seen += page.items
        # A server whose totalCount never comes true must not keep us paging forever.
        more = page.more_after(seen) and seen <= max_targets
        page_num += 1
    return targets


def _why(exc: AttemptFailed) -> str:
    parts = [f"HTTP {exc.status}" if exc.status else "no answer"]
    if exc.error_code:
        parts.append(exc.error_code)
    if exc.detail:
        parts.append(exc.detail)
    return ", ".join(parts)
