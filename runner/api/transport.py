"""The HTTP edge: one aiohttp session for the whole run, and its errors in our terms.

Every request the server could have received is recorded as a ``Send``, including the re-send
aiohttp makes on its own when a kept-alive connection turns out dead and the one a Digest
challenge costs: a recording middleware sits innermost in aiohttp's middleware chain, which runs
inside aiohttp's own retry loop, so it sees each real send.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse
from yarl import URL

from ..errors import ConnectionFailed, RequestTimeout, TransportError, UsageError
from ..model import AttemptError


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(slots=True)
class Send:
    """One request on the wire: its answer's status, or why there was none."""

    at: float
    ms: float | None = None
    status: int | None = None
    error: AttemptError | None = None


@dataclass(slots=True)
class SendLog:
    sends: list[Send] = field(default_factory=list)


_current_log: contextvars.ContextVar[SendLog | None] = contextvars.ContextVar(
    "revoke_runner_send_log", default=None
)


async def _record_sends(req: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    log = _current_log.get()
    if log is None:
        return await handler(req)
    send = Send(at=time.time())
    log.sends.append(send)
    t0 = time.perf_counter()
    try:
        resp = await handler(req)
    except BaseException:
        # The error's kind is decided by the caller, which sees the exception aiohttp finally
        # raises (a timeout arrives here as a bare cancellation).
        send.ms = (time.perf_counter() - t0) * 1000
        raise
    send.ms = (time.perf_counter() - t0) * 1000
    send.status = resp.status
    return resp


def ssl_context(base_url: str, extra_ca_file: str | None) -> ssl.SSLContext | None:
    """Verified TLS: the system trust store, plus ``SSL_CERT_FILE`` as an extra bundle.

    None where aiohttp's own verified context (the system trust store, built once at import)
    serves: a plain-http base URL (loopback only) uses no TLS, and without an extra bundle there
    is nothing to add. Building and loading another context cost ~0.2 s of every run's start.
    OpenSSL itself reads ``SSL_CERT_FILE`` from the process environment *instead of* its
    default bundle; the default bundle is loaded explicitly too so the file only ever adds.
    """
    if not extra_ca_file or not base_url.startswith("https:"):
        return None
    ctx = ssl.create_default_context()
    default_bundle = ssl.get_default_verify_paths().openssl_cafile
    with contextlib.suppress(OSError, ssl.SSLError):
        ctx.load_verify_locations(cafile=default_bundle)
    try:
        ctx.load_verify_locations(cafile=extra_ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(
            f"SSL_CERT_FILE={extra_ca_file}: cannot load it as a CA bundle ({reason})"
        ) from None
    return ctx


class Transport:
    """An aiohttp session sized to the pool. Use as ``async with Transport(...) as t``."""

    def __init__(
        self,
        *,
        pool_size: int,
        timeout: float,
        ssl_ctx: ssl.SSLContext | None = None,
        middlewares: Sequence[ClientMiddlewareType] = (),
        user_agent: str = "revoke-runner",
    ) -> None:
        self._pool_size = pool_size
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl = ssl_ctx if ssl_ctx is not None else True
        # Outer middlewares (Digest) first, the recorder innermost so it sees every send.
        self._middlewares = (*middlewares, _record_sends)
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Transport:
        # Room for every worker plus the token request, so no request waits for a pooled
        # connection while its own timeout runs.
        connector = aiohttp.TCPConnector(
            limit=self._pool_size + 2,
            limit_per_host=self._pool_size + 2,
            ssl=self._ssl,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            middlewares=self._middlewares,
            headers={"User-Agent": self._user_agent},
            # Credentials must never follow a redirect; we follow none at all.
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        data: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> Response:
        """Send one request and read its answer; raise a TransportError when none came."""
        assert self._session is not None, "Transport used outside 'async with'"
        if basic_auth:
            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(*basic_auth)}
        log = _current_log.get()
        sent_before = len(log.sends) if log is not None else 0
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                allow_redirects=False,
            ) as resp:
                body = await resp.read()
                return Response(resp.status, resp.headers, body)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            _mark_failed(log, sent_before, AttemptError.TIMEOUT)
            raise RequestTimeout(f"no answer within {self._timeout.total:g} s") from exc
        except aiohttp.ClientError as exc:
            _mark_failed(log, sent_before, AttemptError.CONNECTION)
            raise ConnectionFailed(_describe(exc)) from exc
        except asyncio.CancelledError:
            _mark_failed(log, sent_before, AttemptError.INTERRUPTED)
            raise


class recording:  # lower case: it reads as a function, ``with recording() as log``
    """Collect every send made by requests in this block (per task: a context variable).

    A class, not a generator-based context manager: it wraps every request of a run.
    """

    __slots__ = ("_log", "_token")

    def __enter__(self) -> SendLog:
        self._log = SendLog()
        self._token = _current_log.set(self._log)
        return self._log

    def __exit__(self, *exc: object) -> None:
        _current_log.reset(self._token)


def _mark_failed(log: SendLog | None, sent_before: int, error: AttemptError) -> None:
    """Give the request's last send the error that ended it.

    A status already recorded is dropped too: its body never arrived, so what counts is that the
    request ended without a usable answer.
    """
    if log is None:
        return
    if len(log.sends) > sent_before:
        last = log.sends[-1]
        last.status = None
        last.error = error
    else:
        log.sends.append(Send(at=time.time(), error=error))


def _describe(exc: aiohttp.ClientError) -> str:
    # aiohttp's messages name host and port, never headers: safe to show.
    name = type(exc).__name__
    text = str(exc)
    return f"{name}: {text}" if text else name


__all__ = ["Response", "Send", "SendLog", "Transport", "TransportError", "recording", "ssl_context"]
