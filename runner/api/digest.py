"""HTTP Digest (RFC 7616) for Atlas API keys: an aiohttp client middleware the whole pool shares.

Written here rather than used from aiohttp, after reading aiohttp 3.14.5's
``DigestAuthMiddleware`` (client_middleware_digest_auth.py). Its hashing is right and it does
sign pre-emptively, but its request policy does not fit a pool that must stop on wrong keys:

- on any 401 carrying a Digest challenge it adopts that challenge and re-sends once, so with
  wrong keys every request costs two sends and every refusal replaces the shared nonce
  (eight workers: sixteen sends and more, where the contract allows concurrency + 1);
- it cannot tell "signed for the current challenge and refused" (wrong keys: stop) from
  "signed for a challenge since replaced" or ``stale=true`` (answer it), and has no shared
  "refused" state to keep the other workers from sending;
- workers that start together all go out unauthenticated to fetch the first challenge;
- changing any of that means overriding ``__call__`` and driving its private ``_encode``,
  ``_authenticate``, ``_challenge`` and ``_nonce_count``, which are not an API across releases.

What is kept from aiohttp: its parser for the challenge's parameters (``parse_header_pairs``).
The hashing is a few lines of ``hashlib``.

Concurrency: everything here runs on one event loop, and signing (counting the nonce, hashing)
has no ``await`` inside, so nonce counts rise in the order requests are signed. Requests may
still reach the server in a slightly different order (each waits for a connection after
signing); servers accept counts within a window for that reason (see the simulator's
``nc_window``).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

from aiohttp import ClientError, ClientHandlerType, ClientRequest, ClientResponse, hdrs
from aiohttp.client_middleware_digest_auth import parse_header_pairs
from yarl import URL

from ..errors import StopRun
from ..model import AbortReason

_HASHES: Final[dict[str, Callable[[bytes], str]]] = {
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
}

# Answers to ``stale=true`` (or to a challenge that replaced the one a request was signed for)
# that one request may make before it gives the 401 back to the client; a server that keeps
# answering stale is not settling, and the client decides what to do with the 401.
MAX_RESENDS: Final = 3

KEYS_HINT: Final = "check MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY"


@dataclass(frozen=True, slots=True, eq=False)
class Challenge:
    """One ``WWW-Authenticate: Digest`` challenge. Compared by identity: each is a generation."""

    realm: str
    nonce: str = field(repr=False)
    algorithm: str  # as the server wrote it (echoed back), MD5 when it named none
    qop: str | None  # "auth", or None for an RFC 2069 server that offers no qop
    opaque: str | None = field(repr=False)
    stale: bool

    @classmethod
    def from_headers(cls, values: Iterable[str]) -> Challenge | None:
        """The first Digest challenge among ``WWW-Authenticate`` values, or None."""
        for value in values:
            scheme, _, rest = value.strip().partition(" ")
            if scheme.lower() != "digest":
                continue
            p = parse_header_pairs(rest)
            if not p.get("nonce") or "realm" not in p:
                continue
            qops = {q.strip().lower() for q in p.get("qop", "").split(",") if q.strip()}
            return cls(
                realm=p["realm"],
                nonce=p["nonce"],
                algorithm=p.get("algorithm", "MD5"),
                qop="auth" if "auth" in qops else (None if not qops else "|".join(sorted(qops))),
                opaque=p.get("opaque"),
                stale=p.get("stale", "").lower() == "true",
            )
        return None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DigestMiddleware:
    """Signs every request for the current challenge; stops everyone once the keys are refused.

    - Until a signed request has been accepted once, requests go one at a time: the first
      fetches the challenge (one unauthenticated send) and the rest wait for it, and with wrong
      keys only that one request is ever sent again.
    - After that, every request carries credentials pre-emptively: one send per request.
    - A 401 with ``stale=true``, or with a challenge that replaced the one the request was
      signed for, is answered (up to ``MAX_RESENDS`` times per request).
    - A 401 to a request signed for the current, non-stale challenge means the keys are wrong:
      ``refused`` becomes true, the 401 goes back to the client, and every later request raises
      ``StopRun`` instead of being sent.
    """

    def __init__(self, username: str, password: str) -> None:
        if ":" in username:
            raise ValueError("an API key's public part cannot contain ':' (RFC 7617)")
        self._username = username
        self._password = password
        self._challenge: Challenge | None = None
        self._nc = 0
        self._proven = False
        self._refused = False
        self._gate = asyncio.Lock()
        self._origin: URL | None = None
        self.challenges_adopted = 0

    def __repr__(self) -> str:
        return f"DigestMiddleware(challenges_adopted={self.challenges_adopted})"

    @property
    def refused(self) -> bool:
        return self._refused

    def refuse(self) -> None:
        """The keys were refused (seen by the client): nothing more is sent with them."""
        self._refused = True

    def raise_if_refused(self) -> None:
        if self._refused:
            raise StopRun(
                AbortReason.UNAUTHORIZED,
                detail=f"not sent: the API already refused the API key; {KEYS_HINT}",
            )

    async def __call__(self, req: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        # The keys belong to the first origin asked (the base URL); nothing else is signed.
        origin = req.url.origin()
        if self._origin is None:
            self._origin = origin
        elif origin != self._origin:
            return await handler(req)
        if not self._proven:
            async with self._gate:
                if not self._proven:
                    return await self._exchange(req, handler)
        return await self._exchange(req, handler)

    async def _exchange(self, req: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        resends = 0
        while True:
            self.raise_if_refused()
            signed_for = self._challenge
            if signed_for is not None:
                req.headers[hdrs.AUTHORIZATION] = self._sign(signed_for, req.method, req.url)
            else:
                req.headers.popall(hdrs.AUTHORIZATION, None)
            resp = await handler(req)
            if resp.status != 401:
                if signed_for is not None:
                    self._proven = True
                return resp
            challenge = Challenge.from_headers(resp.headers.getall(hdrs.WWW_AUTHENTICATE, ()))
            if challenge is None:
                # Refused with nothing to answer: no Digest here, so no way in with these keys.
                self._refused = True
                return resp
            if signed_for is not None and signed_for is self._challenge and not challenge.stale:
                self._refused = True
                return resp
            if resends >= MAX_RESENDS:
                return resp
            self._check_supported(challenge)
            # Only the first answer to the challenge a request was signed with replaces it; a
            # request that finds it replaced already signs with the newer one.
            if self._challenge is signed_for:
                self._challenge = challenge
                self._nc = 0
                self.challenges_adopted += 1
            resends += 1
            # Read the small 401 body so its kept-alive connection serves the re-send.
            with suppress(ClientError, TimeoutError):
                await resp.read()
            resp.release()

    def _check_supported(self, challenge: Challenge) -> None:
        problem = None
        if challenge.algorithm.upper() not in _HASHES:
            problem = f"algorithm {challenge.algorithm!r}"
        elif challenge.qop not in (None, "auth"):
            problem = f"qop {challenge.qop!r}"
        if problem is not None:
            self._refused = True
            raise StopRun(
                AbortReason.UNAUTHORIZED,
                status=401,
                detail=f"the API's Digest challenge asks for {problem}; revoke-runner speaks "
                "MD5 and SHA-256 with qop auth",
            )

    def _sign(self, ch: Challenge, method: str, url: URL) -> str:
        """The Authorization header for one request; counts the nonce (no await: atomic)."""
        h = _HASHES[ch.algorithm.upper()]
        uri = url.raw_path_qs
        ha1 = h(f"{self._username}:{ch.realm}:{self._password}".encode())
        ha2 = h(f"{method.upper()}:{uri}".encode())
        fields = [
            f"username={_quote(self._username)}",
            f"realm={_quote(ch.realm)}",
            f"nonce={_quote(ch.nonce)}",
            f"uri={_quote(uri)}",
            f"algorithm={ch.algorithm}",
        ]
        if ch.qop == "auth":
            self._nc += 1
            nc = f"{self._nc:08x}"
            cnonce = secrets.token_hex(8)
            response = h(f"{ha1}:{ch.nonce}:{nc}:{cnonce}:auth:{ha2}".encode())
            fields += ["qop=auth", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        else:
            response = h(f"{ha1}:{ch.nonce}:{ha2}".encode())
        fields.append(f"response={_quote(response)}")
        if ch.opaque is not None:
            fields.append(f"opaque={_quote(ch.opaque)}")
        return "Digest " + ", ".join(fields)


__all__ = ["MAX_RESENDS", "Challenge", "DigestMiddleware"]
