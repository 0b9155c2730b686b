"""Authentication beside the transport: a service account's bearer token, or an API key's Digest.

Both answer two questions for the client: which headers go on the next request, and, after a
401, whether one more try with renewed credentials is worth it. Secrets live only in these
objects' private fields; no repr, message or log line ever shows them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio
from aiohttp import ClientMiddlewareType

from ..errors import AttemptFailed, Retryable, StopRun, TransportError
from ..model import AbortReason
from .answers import parse_problem, retry_after_seconds
from .digest import DigestMiddleware
from .transport import Transport

# How many times one token fetch is tried before the attempt that needed it gives up.
_TOKEN_TRIES = 4


class Auth(Protocol):
    @property
    def middlewares(self) -> Sequence[ClientMiddlewareType]:
        """Wrapped around every request by the transport (Digest lives here)."""
        ...

    def bind(self, transport: Transport) -> None:
        """Give the auth the transport to fetch tokens with (not counted against the rate)."""

    async def authorize(self) -> tuple[Mapping[str, str], object]:
        """Headers for the next request, and a handle naming the credentials they carry."""
        ...

    async def unauthorized(self, used: object) -> bool:
        """A request carrying ``used`` got 401: True to repeat it once with new credentials."""
        ...


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    renew_at: float
    # Fetched because a request was refused: a refusal of this one means the account is.
    after_401: bool


class ServiceAccountAuth:
    """OAuth 2.0 client credentials; one token for the whole pool, renewed before it expires."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._clock = clock
        self._lock = anyio.Lock()
        self._token: _Token | None = None
        self._refused: StopRun | None = None
        self._transport: Transport | None = None
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"ServiceAccountAuth(token_url={self._token_url!r})"

    @property
    def middlewares(self) -> Sequence[ClientMiddlewareType]:
        return ()

    def bind(self, transport: Transport) -> None:
        self._transport = transport

    async def authorize(self) -> tuple[Mapping[str, str], object]:
        token = self._token
        if token is None or self._clock() >= token.renew_at:
            token = await self._renew(token, after_401=False)
        return {"Authorization": f"Bearer {token.value}"}, token

    async def unauthorized(self, used: object) -> bool:
        if not isinstance(used, _Token) or used.after_401:
            return False
        await self._renew(used, after_401=True)
        return True

    async def _renew(self, seen: _Token | None, *, after_401: bool) -> _Token:
        # One fetch serves every worker: those that queue here find the new token made, or the
        # refusal, which is remembered so the endpoint (about 10 requests a minute) is asked once.
        async with self._lock:
            if self._refused is not None:
                raise self._refused
            current = self._token
            if current is not None and current is not seen and self._clock() < current.renew_at:
                return current
            try:
                self._token = await self._fetch(after_401)
            except StopRun as exc:
                self._refused = exc
                raise
            return self._token

    async def _fetch(self, after_401: bool) -> _Token:
        assert self._transport is not None, "ServiceAccountAuth used before bind()"
        last: AttemptFailed | None = None
        for _ in range(_TOKEN_TRIES):
            self.token_requests += 1
            try:
                resp = await self._transport.request(
                    "POST",
                    self._token_url,
                    headers={"Accept": "application/json"},
                    data={"grant_type": "client_credentials"},
                    basic_auth=(self._client_id, self._client_secret),
                )
            except TransportError as exc:
                last = Retryable(detail=f"token endpoint: {exc}")
                await anyio.sleep(1.0)
                continue
            if resp.status == 200:
                return self._parse(resp.body, after_401)
            problem = parse_problem(resp.body, resp.headers)
            if resp.status in (400, 401, 403):
                raise StopRun(
                    AbortReason.UNAUTHORIZED,
                    status=resp.status,
                    error_code=problem.error_code,
                    detail="the token endpoint refused the service account "
                    f"(HTTP {resp.status}); check MONGODB_ATLAS_CLIENT_ID and "
                    "MONGODB_ATLAS_CLIENT_SECRET",
                )
            wait = retry_after_seconds(resp.headers, time.time())
            last = Retryable(
                status=resp.status,
                error_code=problem.error_code,
                detail=f"token endpoint answered HTTP {resp.status}",
                retry_after=wait,
            )
            # The endpoint allows about 10 requests a minute: honor its 429 to the letter.
            await anyio.sleep(wait if wait is not None else 2.0)
        assert last is not None
        raise last

    def _parse(self, body: bytes, after_401: bool) -> _Token:
        try:
            doc = json.loads(body)
            value = doc["access_token"]
            expires_in = float(doc.get("expires_in", 3600))
            if not isinstance(value, str) or not value:
                raise ValueError
        except (ValueError, KeyError, TypeError) as exc:
            raise StopRun(
                AbortReason.UNAUTHORIZED,
                status=200,
                detail="the token endpoint's answer holds no access_token",
            ) from exc
        # Renew when less than min(60 s, 10% of the lifetime) remains.
        margin = min(60.0, 0.1 * expires_in)
        return _Token(
            value=value, renew_at=self._clock() + expires_in - margin, after_401=after_401
        )


class ApiKeyAuth:
    """Programmatic API keys over HTTP Digest (``digest.DigestMiddleware`` does the protocol).

    After the first challenge every request is signed pre-emptively, so a revocation costs one
    request. A 401 that still reaches the client is either refused keys (the middleware says
    so, and nothing more is sent with them) or a server that kept answering ``stale``: that one
    earns a single repeat, paced like any request.
    """

    def __init__(self, public_key: str, private_key: str) -> None:
        self._digest = DigestMiddleware(public_key, private_key)

    def __repr__(self) -> str:
        return "ApiKeyAuth()"

    @property
    def digest(self) -> DigestMiddleware:
        return self._digest

    @property
    def middlewares(self) -> Sequence[ClientMiddlewareType]:
        return (self._digest,)

    def bind(self, transport: Transport) -> None:
        pass

    async def authorize(self) -> tuple[Mapping[str, str], object]:
        # Checked again by the middleware right before a send: a request that was waiting on
        # the pacer when the keys were refused must not go out either.
        self._digest.raise_if_refused()
        return {}, None

    async def unauthorized(self, used: object) -> bool:
        # Refused keys stop the run. Otherwise the middleware gave up on a server that kept
        # answering stale: one more try, and a second 401 stops the run (the client's rule).
        return not self._digest.refused
