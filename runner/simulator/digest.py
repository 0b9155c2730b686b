"""Server side of HTTP Digest (RFC 7616) as Atlas speaks it: realm "MMS Public API", qop "auth".

Written by hand on purpose: there is no well-kept server-side Digest library for aiohttp, and
the simulator must control every detail a client can trip on (stale nonces, nonce counts,
base64 nonces holding ``+`` and ``/``, the algorithm named in the challenge).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Literal

REALM: Final = "MMS Public API"
Algorithm = Literal["MD5", "SHA-256"]
_HASHES: Final = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
# RFC 7616 section 3.4: auth-param = token "=" ( token / quoted-string )
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,|$)')


def parse_digest_header(value: str) -> dict[str, str] | None:
    """The parameters of an ``Authorization: Digest …`` header, or None when it is not one."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            return None
        raw = m.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[m.group(1).lower()] = raw
        pos = m.end()
    return params


def digest_hash(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode()).hexdigest()


def expected_response(
    algorithm: str,
    username: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str = "auth",
    realm: str = REALM,
) -> str:
    ha1 = digest_hash(algorithm, f"{username}:{realm}:{password}")
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def _new_nonce() -> str:
    # Atlas's nonces are 32 base64 characters; make sure ours carry "+" and "/" as well, so a
    # client that forgets to quote or escapes them is caught.
    while True:
        nonce = base64.b64encode(secrets.token_bytes(24)).decode()
        if "+" in nonce and "/" in nonce:
            return nonce


class Verdict(Enum):
    OK = "ok"
    CHALLENGE = "challenge"  # not Digest, malformed, or wrong keys: a fresh non-stale challenge
    STALE = "stale"  # right keys, but the nonce expired or its count was replayed


@dataclass(slots=True)
class _NonceState:
    created: float
    uses: int = 0
    top_nc: int = 0
    seen: set[int] = field(default_factory=set)


@dataclass(slots=True)
class DigestResult:
    verdict: Verdict
    nonce: str | None = None
    nc: int | None = None


class DigestAuthority:
    """Issues challenges and verifies answers for one public/private API key pair.

    Nonce counts: a count already seen for a nonce is always refused (replay). With
    ``nc_window`` 0 every count must exceed the highest seen so far; with a window ``w > 0`` a
    count up to ``w`` below the highest is still accepted once, because a client that signs
    requests in order over several connections cannot control their order of arrival.
    A refused count, like an expired nonce, is answered ``stale=true``: the keys were right.
    """

    def __init__(
        self,
        public_key: str,
        private_key: str,
        *,
        algorithm: Algorithm = "MD5",
        nonce_lifetime: float = 300.0,
        nonce_max_uses: int | None = None,
        nc_window: int = 32,
    ) -> None:
        if algorithm not in _HASHES:
            raise ValueError(f"unsupported Digest algorithm {algorithm!r}: use MD5 or SHA-256")
        self.public_key = public_key
        self._private_key = private_key
        self.algorithm: Algorithm = algorithm
        self.nonce_lifetime = nonce_lifetime
        self.nonce_max_uses = nonce_max_uses
        self.nc_window = nc_window
        self._nonces: dict[str, _NonceState] = {}
        self.nonces_issued = 0

    def challenge(self, *, stale: bool = False) -> str:
        nonce = _new_nonce()
        self._nonces[nonce] = _NonceState(time.monotonic())
        self.nonces_issued += 1
        return (
            f'Digest realm="{REALM}", domain="", nonce="{nonce}", '
            f'algorithm={self.algorithm}, qop="auth", stale={"true" if stale else "false"}'
        )

    def expire_nonces(self) -> None:
        self._nonces.clear()

    def verify(self, header: str, method: str, uri: str) -> DigestResult:
        p = parse_digest_header(header)
        if p is None:
            return DigestResult(Verdict.CHALLENGE)
        nonce = p.get("nonce", "")
        nc_text = p.get("nc", "")
        try:
            nc = int(nc_text, 16)
        except ValueError:
            return DigestResult(Verdict.CHALLENGE, nonce or None)
        algorithm = p.get("algorithm", "MD5")
        if (
            p.get("username") != self.public_key
            or p.get("realm") != REALM
            or p.get("qop") != "auth"
            or algorithm.upper() != self.algorithm
            or p.get("uri") != uri
            or len(nc_text) != 8
            or nc < 1
            or not p.get("cnonce")
        ):
            return DigestResult(Verdict.CHALLENGE, nonce or None, nc)
        want = expected_response(
            self.algorithm,
            self.public_key,
            self._private_key,
            method,
            uri,
            nonce,
            nc_text,
            p["cnonce"],
        )
        if not hmac.compare_digest(want, p.get("response", "")):
            return DigestResult(Verdict.CHALLENGE, nonce, nc)
        state = self._nonces.get(nonce)
        if state is None:
            # Not ours (any more): the answer was right for the nonce it names, so only stale.
            return DigestResult(Verdict.STALE, nonce, nc)
        now = time.monotonic()
        expired = now - state.created > self.nonce_lifetime or (
            self.nonce_max_uses is not None and state.uses >= self.nonce_max_uses
        )
        if expired:
            del self._nonces[nonce]
            return DigestResult(Verdict.STALE, nonce, nc)
        if nc in state.seen or nc <= state.top_nc - self.nc_window:
            return DigestResult(Verdict.STALE, nonce, nc)
        state.uses += 1
        if self.nc_window:
            state.seen.add(nc)
            if len(state.seen) > 4 * self.nc_window:
                floor = max(state.top_nc, nc) - self.nc_window
                state.seen = {s for s in state.seen if s > floor}
        state.top_nc = max(state.top_nc, nc)
        return DigestResult(Verdict.OK, nonce, nc)
