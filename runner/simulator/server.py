"""An aiohttp.web stand-in for the Atlas endpoints revoke-runner uses, with fault injection.

Faithful to shared/atlas-recordings/ and the OpenAPI fragment: versioned media types with
``;charset=utf-8``, ``Ratelimit-Limit``/``Ratelimit-Remaining``, Atlas error bodies with an
``X-Error-Code`` header, list pages with ``links``/``results``/``totalCount``, the list's
SAML/WORKFORCE defaults, Digest challenges as Atlas words them, and OAuth client credentials.

Every API request passes, in order: latency, authentication, scripted faults, the token bucket
(``throttle``), random 500s (``fail_rate``), then the endpoint itself. Everything is recorded in
``Simulator.log``. Admin endpoints under ``/_sim/`` are plain (no auth, not logged): it is a
local test tool.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import random
import re
import secrets
import socket
import string
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from aiohttp import web

from .data import DEFAULT_BULK_SIZE, IDP_TYPES, PROTOCOLS, Federation, build_dataset
from .digest import Algorithm, DigestAuthority, Verdict
from .faults import Fault, FaultSpec, ScriptBook

API_PREFIX: Final = "/api/atlas/v2/federationSettings"
LIST_VERSION: Final = "2023-01-01"
IDP_VERSION: Final = "2023-11-15"
_VERSIONS: Final = {
    "list": frozenset({"2023-01-01"}),
    "get": frozenset({"2023-01-01", "2023-11-15"}),
    "revoke": frozenset({"2023-11-15"}),
}
_ACCEPT_RE: Final = re.compile(r"application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json")
_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_SCRIPTED_CODES: Final = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "USER_UNAUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
    406: "INVALID_VERSION_DATE",
    410: "API_VERSION_SUNSET",
    429: "RATE_LIMITED",
    500: "UNEXPECTED_ERROR",
    502: "UNEXPECTED_ERROR",
    503: "SERVICE_UNAVAILABLE",
    504: "UNEXPECTED_ERROR",
}
_BASE_HEADERS: Final = {
    "Server": "mdbws",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_HTML_PAGE: Final = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>envoy</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REVOKE_HEADERS: Final = {
    **_BASE_HEADERS,
    "Content-Type": f"application/vnd.atlas.{IDP_VERSION}+json;charset=utf-8",
    "X-Java-Method": "ApiFederationSettingsResource::revokeJwksFromIdentityProvider",
}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Credentials:
    """The simulator's own throwaway credentials (printing them is the point)."""

    client_id: str
    client_secret: str
    public_key: str
    private_key: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            client_id=f"mdb_sa_id_{secrets.token_hex(12)}",
            client_secret=f"mdb_sa_sk_{secrets.token_urlsafe(30)}",
            public_key="".join(secrets.choice(string.ascii_lowercase) for _ in range(8)),
            private_key=str(uuid.uuid4()),
        )

    def service_account_env(self) -> dict[str, str]:
        return {
            "MONGODB_ATLAS_CLIENT_ID": self.client_id,
            "MONGODB_ATLAS_CLIENT_SECRET": self.client_secret,
        }

    def api_key_env(self) -> dict[str, str]:
        return {
            "MONGODB_ATLAS_PUBLIC_API_KEY": self.public_key,
            "MONGODB_ATLAS_PRIVATE_API_KEY": self.private_key,
        }


@dataclass(slots=True)
class SimulatorConfig:
    seed: int | None = None
    fail_rate: float = 0.0  # share of API requests answered 500, 0..1
    throttle: float | None = None  # token bucket refill, requests/s; None: no server limit
    capacity: float | None = None  # token bucket size; None: max(throttle, 1)
    retry_after_header: bool = True  # False: a throttled 429 names its wait only in the body
    latency_ms: float = 0.0
    token_expires_in: int = 3600
    token_rate_limit: int = 10  # token requests per client per window
    token_rate_window: float = 60.0
    digest_algorithm: Algorithm = "MD5"
    nonce_lifetime: float = 300.0
    nonce_max_uses: int | None = None
    digest_nc_window: int = 32  # see DigestAuthority
    bulk_size: int = DEFAULT_BULK_SIZE
    ratelimit_limit: int = 300  # Ratelimit-Limit when no throttle is set
    shutdown_timeout: float = 0.5
    credentials: Credentials | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate {self.fail_rate}: must be between 0 and 1")
        if self.throttle is not None and self.throttle <= 0:
            raise ValueError(f"throttle {self.throttle}: must be > 0 requests/s")
        if self.capacity is not None and self.capacity < 1:
            raise ValueError(f"capacity {self.capacity}: must be >= 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency {self.latency_ms} ms: must be >= 0")


@dataclass(slots=True)
class RequestRecord:
    """One request as the server saw it. ``status`` is None when none was sent (reset, hang)."""

    seq: int
    mono: float  # time.monotonic() at arrival
    wall: float  # time.time() at arrival
    method: str
    path: str
    query: str
    kind: str  # token, list, get, revoke, other
    auth: str  # bearer, digest, basic, none
    fed: str | None = None
    idp: str | None = None
    status: int | None = None
    fault: str | None = None  # the scripted/injected fault that answered, if any
    nonce: str | None = None
    nc: int | None = None
    finished: float | None = None  # time.monotonic() when answered

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "mono": self.mono,
            "wall": self.wall,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "kind": self.kind,
            "auth": self.auth,
            "fed": self.fed,
            "idp": self.idp,
            "status": self.status,
            "fault": self.fault,
            "nonce": self.nonce,
            "nc": self.nc,
            "finished": self.finished,
        }


class _Bucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.last = time.monotonic()

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def refill_terms(self) -> tuple[float | int, float | int]:
        """(refillRate, refillSeconds) as a 429 body names them: tokens per that many seconds."""
        if self.rate >= 1 or not (1 / self.rate).is_integer():
            return _num(self.rate), 1
        return 1, int(1 / self.rate)


def _pick_version(accept: str, allowed: frozenset[str]) -> str | None:
    """The first version the Accept header names that the resource has, or None (406)."""
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        m = _ACCEPT_RE.fullmatch(media)
        if m:
            version = m.group(1)
        elif media in ("", "*/*", "application/json", "application/*"):
            version = "2023-01-01"  # Atlas's version for unversioned requests
        else:
            continue
        if version in allowed:
            return version
    return None


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


class _Dropped(web.StreamResponse):
    """Stands for "no answer": aiohttp treats the error from ``prepare`` as a disconnection."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        raise ConnectionResetError("connection dropped by the simulator")


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0 turns close() into a TCP RST, so the client sees a real reset.
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Simulator:
    """The simulator, in process: ``await start()``, use ``url``/``credentials``, ``await stop()``.

    The sync methods (``script``, ``reset``, ``expire_tokens``…) may be called from another
    thread while the server runs in ``running_simulator``'s thread: they hop onto its loop.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        cfg = self.config
        self.credentials = cfg.credentials or Credentials.generate()
        self.federations: dict[str, Federation] = build_dataset(cfg.bulk_size)
        self.digest = DigestAuthority(
            self.credentials.public_key,
            self.credentials.private_key,
            algorithm=cfg.digest_algorithm,
            nonce_lifetime=cfg.nonce_lifetime,
            nonce_max_uses=cfg.nonce_max_uses,
            nc_window=cfg.digest_nc_window,
        )
        self.log: list[RequestRecord] = []
        self._revocations: Counter[tuple[str, str]] = Counter()
        self._tokens: dict[str, float] = {}
        self._token_requests: dict[str, deque[float]] = {}
        self._scripts = ScriptBook()
        self._rng = random.Random(cfg.seed)
        self._bucket = self._new_bucket()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self.tokens_issued = 0
        self._accept_cache: dict[tuple[str, str], str | None] = {}

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        p = API_PREFIX
        app.router.add_post("/api/oauth/token", self._token)
        app.router.add_get(p + "/{fed}/identityProviders", self._list)
        app.router.add_get(p + "/{fed}/identityProviders/{idp}", self._get)
        app.router.add_delete(p + "/{fed}/identityProviders/{idp}/jwks", self._revoke)
        app.router.add_get("/_sim/requests", self._admin_requests)
        app.router.add_get("/_sim/stats", self._admin_stats)
        app.router.add_post("/_sim/script", self._admin_script)
        app.router.add_post("/_sim/reset", self._admin_reset)
        app.router.add_post("/_sim/expire-tokens", self._admin_expire_tokens)
        app.router.add_post("/_sim/expire-nonces", self._admin_expire_nonces)
        app.router.add_route("*", "/{tail:.*}", self._other)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(
            self.app(), access_log=None, shutdown_timeout=self.config.shutdown_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- test hooks (callable from any thread) ---------------------------------------------

    def _on_loop(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)

    def script(
        self,
        *faults: FaultSpec,
        fed: str | None = None,
        idp: str | None = None,
        scope: str = "revoke",
    ) -> None:
        """Queue faults for the next matching requests (see ``faults``); then normal behaviour."""
        self._on_loop(lambda: self._scripts.add(faults, scope=scope, fed=fed, idp=idp))

    def expire_tokens(self) -> None:
        """Forget every issued token: the next Bearer request gets 401."""
        self._on_loop(self._tokens.clear)

    def expire_nonces(self) -> None:
        """Forget every Digest nonce: the next signed request gets 401 ``stale=true``."""
        self._on_loop(self.digest.expire_nonces)

    def reset(self) -> None:
        """Clear the log, revocation counts, scripts and token-endpoint limits; refill the bucket.

        Issued tokens and nonces stay valid (use ``expire_tokens``/``expire_nonces``).
        """

        def do() -> None:
            self.log.clear()  # in place: a caller holding `sim.log` sees the reset
            self._revocations.clear()
            self._scripts.clear()
            self._token_requests.clear()
            self._bucket = self._new_bucket()

        self._on_loop(do)

    def revocations(self, fed: str, idp: str) -> int:
        """How many DELETE …/jwks of this IdP were answered 204."""
        return self._revocations[(fed, idp)]

    @property
    def total_revocations(self) -> int:
        return sum(self._revocations.values())

    def requests(
        self,
        kind: str | None = None,
        *,
        method: str | None = None,
        fed: str | None = None,
        idp: str | None = None,
    ) -> list[RequestRecord]:
        return [
            r
            for r in list(self.log)
            if (kind is None or r.kind == kind)
            and (method is None or r.method == method)
            and (fed is None or r.fed == fed)
            and (idp is None or r.idp == idp)
        ]

    def stats(self) -> dict[str, Any]:
        log = list(self.log)
        by_kind: Counter[str] = Counter(f"{r.method} {r.kind}" for r in log)
        by_status: Counter[str] = Counter(str(r.status) for r in log)
        by_auth: Counter[str] = Counter(r.auth for r in log)
        return {
            "requests": len(log),
            "byKind": dict(by_kind),
            "byStatus": dict(by_status),
            "byAuth": dict(by_auth),
            "tokensIssued": self.tokens_issued,
            "noncesIssued": self.digest.nonces_issued,
            "revocations": {f"{f}/{i}": n for (f, i), n in self._revocations.items()},
            "totalRevocations": self.total_revocations,
            "pendingFaults": self._scripts.pending(),
        }

    def env(self, *, api_key: bool = False) -> dict[str, str]:
        """Environment for revoke-runner against this simulator (service account by default)."""
        env = {"MONGODB_ATLAS_BASE_URL": self.url}
        if api_key:
            env.update(self.credentials.api_key_env())
        else:
            env.update(self.credentials.service_account_env())
        return env

    # ---- helpers ---------------------------------------------------------------------------

    def _new_bucket(self) -> _Bucket | None:
        rate = self.config.throttle
        if rate is None:
            return None
        return _Bucket(rate, self.config.capacity or max(rate, 1.0))

    def _rate_headers(self) -> dict[str, str]:
        b = self._bucket
        if b is None:
            limit = self.config.ratelimit_limit
            return {"Ratelimit-Limit": str(limit), "Ratelimit-Remaining": str(limit - 1)}
        return {
            "Ratelimit-Limit": str(int(b.capacity)),
            "Ratelimit-Remaining": str(max(int(b.tokens), 0)),
        }

    def _error(
        self,
        status: int,
        error_code: str,
        detail: str,
        parameters: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        body = {
            "detail": detail,
            "error": status,
            "errorCode": error_code,
            "parameters": parameters if parameters is not None else [],
            "reason": _REASONS.get(status, "Error"),
        }
        h = {**_BASE_HEADERS, **self._rate_headers(), "X-Error-Code": error_code}
        if headers:
            h.update(headers)
        return web.Response(
            status=status,
            body=json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json",
            headers=h,
        )

    def _unauthorized(self, *, stale: bool = False) -> web.Response:
        # As recorded: plain application/json, pretty-printed, no rate-limit headers.
        body = (
            '{\n  "error" : 401,\n  "reason" : "Unauthorized",\n'
            '  "detail" : "You are not authorized for this resource.",\n'
            '  "errorCode" : "UNEXPECTED_ERROR"\n}'
        )
        return web.Response(
            status=401,
            body=body.encode(),
            content_type="application/json",
            headers={
                "Server": "mdbws",
                "WWW-Authenticate": self.digest.challenge(stale=stale),
            },
        )

    def _record(
        self, request: web.Request, kind: str, fed: str | None, idp: str | None
    ) -> RequestRecord:
        rec = RequestRecord(
            len(self.log),
            time.monotonic(),
            time.time(),
            request.method,
            request.path,
            request.query_string,
            kind,
            "none",
            fed,
            idp,
        )
        self.log.append(rec)
        return rec

    async def _fault(
        self, request: web.Request, rec: RequestRecord, fault: Fault
    ) -> web.StreamResponse:
        rec.fault = fault.kind if fault.kind != "status" else str(fault.status)
        if fault.kind == "reset":
            _abort(request)
            return _Dropped()
        if fault.kind == "hang":
            assert self._closing is not None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
            _abort(request)
            return _Dropped()
        if fault.kind == "html":
            reason = _REASONS.get(fault.status, "Error")
            return web.Response(
                status=fault.status,
                text=_HTML_PAGE.format(code=fault.status, reason=reason),
                content_type="text/html",
                headers={"Server": "envoy"},
            )
        if fault.kind == "empty":
            return web.Response(status=fault.status, headers={"Server": "envoy"})
        status = fault.status
        if status == 401:
            return self._unauthorized()
        if status == 429 or (status == 503 and fault.retry_after is not None):
            wait = fault.retry_after or 1.0
            return self._rate_limited(request, wait, fault.retry_after_header)
        code = _SCRIPTED_CODES.get(status, "UNEXPECTED_ERROR")
        return self._error(status, code, f"Scripted {status} from the simulator.", [])

    def _rate_limited(
        self, request: web.Request, wait: float, header: bool, status: int = 429
    ) -> web.Response:
        seconds = max(1, math.ceil(wait))
        b = self._bucket
        capacity, (refill_rate, refill_seconds) = (
            (_num(b.capacity), b.refill_terms()) if b is not None else (100, (10, 1))
        )
        headers = {"Retry-After": str(seconds)} if header else None
        return self._error(
            status,
            "RATE_LIMITED_TOKEN_BUCKET" if status == 429 else "SERVICE_UNAVAILABLE",
            f"You have exceeded the rate limit for {request.path}. Retry after {seconds} seconds.",
            [request.path, seconds, capacity, refill_rate, refill_seconds],
            headers,
        )

    def _authenticate(self, request: web.Request, rec: RequestRecord) -> web.Response | None:
        header = request.headers.get("Authorization")
        if header is None:
            return self._unauthorized()
        if header[:7].lower() == "bearer ":
            rec.auth = "bearer"
            expiry = self._tokens.get(header[7:].strip())
            if expiry is None or expiry <= time.monotonic():
                return self._error(
                    401,
                    "INVALID_SERVICE_ACCOUNT_TOKEN",
                    "The access token is invalid or has expired.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            return None
        if header[:7].lower() == "digest ":
            rec.auth = "digest"
            result = self.digest.verify(header, request.method, request.raw_path)
            rec.nonce, rec.nc = result.nonce, result.nc
            if result.verdict is Verdict.OK:
                return None
            return self._unauthorized(stale=result.verdict is Verdict.STALE)
        rec.auth = header.partition(" ")[0].lower() or "none"
        return self._unauthorized()

    async def _api(
        self,
        request: web.Request,
        kind: str,
        fed: str,
        idp: str | None,
        endpoint: Callable[[web.Request, str, str | None], web.Response],
    ) -> web.StreamResponse:
        rec = self._record(request, kind, fed, idp)
        try:
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000)
            resp: web.StreamResponse | None = self._authenticate(request, rec)
            if resp is None and self._scripts:
                fault = self._scripts.take(kind, fed, idp)
                if fault is not None:
                    resp = await self._fault(request, rec, fault)
            if resp is None and self._bucket is not None:
                wait = self._bucket.take(time.monotonic())
                if wait:
                    rec.fault = "throttle"
                    resp = self._rate_limited(request, wait, self.config.retry_after_header)
            if (
                resp is None
                and self.config.fail_rate
                and self._rng.random() < self.config.fail_rate
            ):
                rec.fault = "fail-rate"
                resp = self._error(500, "UNEXPECTED_ERROR", "Unexpected error.", [])
            if resp is None:
                resp = endpoint(request, fed, idp)
            rec.status = None if isinstance(resp, _Dropped) else resp.status
            return resp
        finally:
            rec.finished = time.monotonic()

    def _version(self, request: web.Request, kind: str) -> tuple[str | None, web.Response | None]:
        accept = request.headers.get("Accept", "")
        key = (kind, accept)
        version = self._accept_cache.get(key, "")
        if version == "":
            version = _pick_version(accept, _VERSIONS[kind])
            if len(self._accept_cache) < 1000:  # clients send a handful of distinct headers
                self._accept_cache[key] = version
        if version is not None:
            return version, None
        allowed = _VERSIONS[kind]
        return None, self._error(
            406,
            "INVALID_VERSION_DATE",
            f"The Accept header {accept!r} names no version of this resource; "
            f"supported: {', '.join(sorted(allowed))}.",
            [accept],
        )

    def _federation(self, fed: str) -> tuple[Federation | None, web.Response | None]:
        federation = self.federations.get(fed)
        if federation is None:
            return None, self._error(
                404,
                "FEDERATION_SETTINGS_NOT_FOUND",
                f"No federation settings with ID {fed} exist.",
                [fed],
            )
        if not federation.owner:
            return None, self._error(
                403,
                "USER_UNAUTHORIZED",
                "The currently logged in user does not have the Organization Owner role in "
                f"any organization connected to federation {fed}.",
                [fed],
            )
        return federation, None

    # ---- endpoints -------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.StreamResponse:
        return await self._api(request, "list", request.match_info["fed"], None, self._do_list)

    def _do_list(self, request: web.Request, fed: str, _: str | None) -> web.Response:
        version, bad = self._version(request, "list")
        if bad is not None:
            return bad
        federation, bad = self._federation(fed)
        if bad is not None or federation is None:
            return bad or self._error(500, "UNEXPECTED_ERROR", "no federation", [])
        q = request.query
        protocols = q.getall("protocol", ["SAML"])
        types = q.getall("idpType", ["WORKFORCE"])
        for name, values, allowed in (
            ("protocol", protocols, PROTOCOLS),
            ("idpType", types, IDP_TYPES),
        ):
            for v in values:
                if v not in allowed:
                    return self._error(
                        400,
                        "INVALID_ENUM_VALUE",
                        f"An invalid enumeration value {v} was specified for {name}.",
                        [v, name],
                    )
        try:
            page_num = int(q.get("pageNum", "1"))
            per_page = int(q.get("itemsPerPage", "100"))
        except ValueError:
            return self._error(
                400, "INVALID_QUERY_PARAMETER", "pageNum and itemsPerPage must be integers.", []
            )
        if page_num < 1 or not 1 <= per_page <= 500:
            return self._error(
                400,
                "INVALID_ITEMS_PER_PAGE" if page_num >= 1 else "INVALID_PAGE_NUM",
                f"pageNum {page_num} must be >= 1 and itemsPerPage {per_page} 1..500.",
                [page_num, per_page],
            )
        items, total = federation.page(
            frozenset(protocols), frozenset(types), (page_num - 1) * per_page, per_page
        )
        base = f"{request.scheme}://{request.host}{request.path}?"
        kept = sorted(
            ((k, v) for k, v in q.items() if k not in ("pageNum", "itemsPerPage")),
            key=lambda kv: kv[0],
        )
        prefix = "".join(f"{k}={v}&" for k, v in kept)

        def link(n: int, rel: str) -> dict[str, str]:
            return {"href": f"{base}{prefix}pageNum={n}&itemsPerPage={per_page}", "rel": rel}

        links = []
        if page_num > 1:
            links.append(link(page_num - 1, "previous"))
        links.append(link(page_num, "self"))
        if page_num * per_page < total:
            links.append(link(page_num + 1, "next"))
        body = {"links": links, "results": [i.to_json() for i in items], "totalCount": total}
        return self._json(body, version or LIST_VERSION)

    def _json(self, body: Any, version: str) -> web.Response:
        return web.Response(
            body=json.dumps(body, separators=(",", ":")).encode(),
            headers={
                **_BASE_HEADERS,
                **self._rate_headers(),
                "Content-Type": f"application/vnd.atlas.{version}+json;charset=utf-8",
            },
        )

    def _idp(self, fed: str, idp: str | None) -> tuple[Any, web.Response | None]:
        federation, bad = self._federation(fed)
        if bad is not None or federation is None:
            return None, bad
        found = federation.get(idp or "")
        if found is None:
            return None, self._error(
                404,
                "IDENTITY_PROVIDER_NOT_FOUND",
                f"No identity provider {idp} found in federation {fed}.",
                [idp, fed],
            )
        return found, None

    async def _get(self, request: web.Request) -> web.StreamResponse:
        mi = request.match_info
        return await self._api(request, "get", mi["fed"], mi["idp"], self._do_get)

    def _do_get(self, request: web.Request, fed: str, idp: str | None) -> web.Response:
        version, bad = self._version(request, "get")
        if bad is not None:
            return bad
        found, bad = self._idp(fed, idp)
        if bad is not None:
            return bad
        return self._json(found.to_json(), version or IDP_VERSION)

    async def _revoke(self, request: web.Request) -> web.StreamResponse:
        mi = request.match_info
        return await self._api(request, "revoke", mi["fed"], mi["idp"], self._do_revoke)

    def _do_revoke(self, request: web.Request, fed: str, idp: str | None) -> web.Response:
        _, bad = self._version(request, "revoke")
        if bad is not None:
            return bad
        found, bad = self._idp(fed, idp)
        if bad is not None:
            return bad
        if found.protocol != "OIDC":
            return self._error(
                400,
                "IDENTITY_PROVIDER_PROTOCOL_NOT_SUPPORTED",
                f"Identity provider {idp} uses SAML; only OIDC identity providers have JWKS.",
                [idp],
            )
        self._revocations[(fed, found.id)] += 1
        headers = _REVOKE_HEADERS.copy()
        headers.update(self._rate_headers())
        return web.Response(status=204, headers=headers)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "token", None, None)
        try:
            resp = await self._do_token(request, rec)
            rec.status = None if isinstance(resp, _Dropped) else resp.status
            return resp
        finally:
            rec.finished = time.monotonic()

    async def _do_token(self, request: web.Request, rec: RequestRecord) -> web.StreamResponse:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if self._scripts:
            fault = self._scripts.take("token", None, None)
            if fault is not None:
                return await self._fault(request, rec, fault)
        header = request.headers.get("Authorization", "")
        client_id = secret = None
        if header[:6].lower() == "basic ":
            rec.auth = "basic"
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
                client_id, _, secret = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                pass
        elif header:
            rec.auth = header.partition(" ")[0].lower()
        if client_id is not None:
            now = time.monotonic()
            window = self._token_requests.setdefault(client_id, deque())
            while window and window[0] <= now - self.config.token_rate_window:
                window.popleft()
            if len(window) >= self.config.token_rate_limit:
                wait = window[0] + self.config.token_rate_window - now
                rec.fault = "token-rate-limit"
                return self._error(
                    429,
                    "RATE_LIMITED",
                    f"Too many token requests for client {client_id}.",
                    [client_id],
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            window.append(now)
        creds = self.credentials
        if not (
            client_id is not None
            and secrets.compare_digest(client_id, creds.client_id)
            and secrets.compare_digest(secret or "", creds.client_secret)
        ):
            return self._error(
                401,
                "INVALID_CLIENT_CREDENTIALS",
                "The client ID or secret is invalid.",
                [],
                {"WWW-Authenticate": 'Basic realm="MongoDB Atlas"'},
            )
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return self._error(
                400,
                "UNSUPPORTED_GRANT_TYPE",
                "grant_type must be client_credentials.",
                [str(form.get("grant_type"))],
            )
        token = secrets.token_urlsafe(32)
        self._tokens[token] = time.monotonic() + self.config.token_expires_in
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": token,
                "expires_in": self.config.token_expires_in,
                "token_type": "Bearer",
            },
            headers={"Cache-Control": "no-store", "Server": "mdbws"},
        )

    async def _other(self, request: web.Request) -> web.StreamResponse:
        rec = self._record(request, "other", None, None)
        resp = self._error(
            404, "RESOURCE_NOT_FOUND", f"Cannot find resource {request.path}.", [request.path]
        )
        rec.status = resp.status
        rec.finished = time.monotonic()
        return resp

    # ---- admin -----------------------------------------------------------------------------

    async def _admin_requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response({"requests": [r.to_json() for r in self.log[since:]]})

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _admin_script(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            entries = payload if isinstance(payload, list) else [payload]
            for e in entries:
                if not isinstance(e, dict) or not isinstance(e.get("faults"), list):
                    raise ValueError('each entry needs "faults": [...]')
                extra = set(e) - {"faults", "scope", "fed", "idp"}
                if extra:
                    raise ValueError(f"unknown keys {sorted(extra)}")
                self._scripts.add(
                    e["faults"],
                    scope=e.get("scope", "revoke"),
                    fed=e.get("fed"),
                    idp=e.get("idp"),
                )
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"pending": self._scripts.pending()})

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _admin_expire_tokens(self, request: web.Request) -> web.Response:
        self.expire_tokens()
        return web.json_response({"ok": True})

    async def _admin_expire_nonces(self, request: web.Request) -> web.Response:
        self.expire_nonces()
        return web.json_response({"ok": True})


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextmanager
def running_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Simulator]:
    """The simulator served from a background thread with its own loop, for sync code.

    ``with running_simulator() as sim:`` then run the real ``revoke-runner`` in a subprocess
    against ``sim.url`` with ``sim.env()``.
    """
    sim = Simulator(config)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(sim.start(host, port))
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(sim.stop())
            loop.close()

    thread = threading.Thread(target=serve, name="atlas-simulator", daemon=True)
    thread.start()
    started.wait(30)
    if failure:
        raise failure[0]
    try:
        yield sim
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


async def serve_until(sim: Simulator, stop: Awaitable[object]) -> None:
    """Run ``sim`` until ``stop`` completes (used by the CLI)."""
    try:
        await stop
    finally:
        await sim.stop()


def iter_export_lines(sim: Simulator) -> Iterable[str]:
    env = {
        "MONGODB_ATLAS_BASE_URL": sim.url,
        **sim.credentials.service_account_env(),
        **sim.credentials.api_key_env(),
    }
    return (f"export {k}={v}" for k, v in env.items())
