"""The Atlas calls revoke-runner makes, and what each answer means for the run.

``revoke_once`` is one attempt at one target: it waits for the pacer, sends the DELETE (and, after
a 401 with a bearer token, once more with a new token), records every send as an Attempt, and
either returns (revoked) or raises Retryable / Rejected / StopRun.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from yarl import URL

from ..errors import Rejected, Retryable, StopRun, TransportError
from ..model import HEX24, AbortReason, Attempt, AttemptError, Target
from ..pacing import Pacer
from .answers import ApiProblem, bucket_hint, parse_problem, retry_after_seconds
from .auth import Auth
from .transport import Response, Send, Transport, recording

REVOKE_PATH = "/api/atlas/v2/federationSettings/{fed}/identityProviders/{idp}/jwks"
LIST_PATH = "/api/atlas/v2/federationSettings/{fed}/identityProviders"
LIST_API_VERSION = "2023-01-01"

LIST_PAGE_SIZE = 500

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
API_VERSION_STATUSES = frozenset({406, 410})


@dataclass(frozen=True, slots=True)
class ListPage:
    targets: list[Target]
    items: int  # entries on the page, OIDC or not
    total: int | None  # totalCount, where the answer says it

    def more_after(self, seen: int) -> bool:
        """Whether another page follows, ``seen`` items being listed so far (this page's too).

        totalCount decides where given (a server may serve fewer per page than asked); without
        it, only a full page means there may be more.
        """
        if self.items == 0:
            return False
        if self.total is not None:
            return seen < self.total
        return self.items >= LIST_PAGE_SIZE


def media_type(api_version: str) -> str:
    return f"application/vnd.atlas.{api_version}+json"


class AtlasClient:
    def __init__(
        self,
        *,
        transport: Transport,
        auth: Auth,
        pacer: Pacer,
        base_url: str,
        api_version: str,
        on_pause: Callable[[float, str], None] | None = None,
        on_rate: Callable[[float], None] | None = None,
    ) -> None:
        self._transport = transport
        self._auth = auth
        self._pacer = pacer
        self._base = URL(base_url.rstrip("/"))
        self._base_path = self._base.raw_path.rstrip("/")
        self._accept = media_type(api_version)
        self._on_pause = on_pause
        self._on_rate = on_rate

    async def revoke_once(self, target: Target, record: Callable[[Attempt], None]) -> None:
        # Ids are 24 lowercase hex characters (the plan and discovery check): nothing to quote,
        # so the URL is built already encoded, which spares yarl a parse per request.
        t = target
        path = REVOKE_PATH.format(fed=t.federation_settings_id, idp=t.identity_provider_id)
        url = self._base.with_path(self._base_path + path, encoded=True)
        resp = await self._send("DELETE", url, self._accept, record)
        if 200 <= resp.status < 300:
            return
        raise self._failure(resp)

    async def list_oidc_page(
        self, federation_id: str, page: int, record: Callable[[Attempt], None]
    ) -> ListPage:
        """One page of a federation's OIDC IdPs, WORKFORCE and WORKLOAD.

        The list returns only SAML, and only WORKFORCE, unless told otherwise: say both.
        """
        url = self._base.with_path(
            self._base_path + LIST_PATH.format(fed=federation_id), encoded=True
        )
        params = [
            ("protocol", "OIDC"),
            ("idpType", "WORKFORCE"),
            ("idpType", "WORKLOAD"),
            ("itemsPerPage", str(LIST_PAGE_SIZE)),
            ("pageNum", str(page)),
        ]
        resp = await self._send("GET", url, media_type(LIST_API_VERSION), record, params)
        if resp.status != 200:
            raise self._failure(resp)
        try:
            doc = json.loads(resp.body)
            items = doc["results"]
            total = doc.get("totalCount")
            if not isinstance(items, list):
                raise TypeError("results is not a list")
            found = [
                Target(
                    federation_settings_id=federation_id,
                    identity_provider_id=item["id"],
                    display_name=item.get("displayName"),
                )
                for item in items
                if item.get("protocol", "OIDC") == "OIDC"
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Rejected(status=200, detail=f"unreadable identity provider list: {exc}") from exc
        bad = [t.identity_provider_id for t in found if not HEX24.match(t.identity_provider_id)]
        if bad:
            raise Rejected(status=200, detail=f"the list holds malformed IdP ids: {bad[:3]}")
        return ListPage(found, len(items), total if isinstance(total, int) else None)

    async def _send(
        self,
        method: str,
        url: URL,
        accept: str,
        record: Callable[[Attempt], None],
        params: list[tuple[str, str]] | None = None,
    ) -> Response:
        """One paced request with credentials; a 401 earns one repeat with renewed ones.

        Every send on the wire is recorded, whatever became of it.
        """
        for repeat in range(2):
            # Credentials after the pacer's wait, which can be long: a token taken before it
            # could expire on the way.
            await self._pacer.acquire()
            self._pacer.started()
            resp: Response | None = None
            try:
                headers, credential = await self._auth.authorize()
                with recording() as log:
                    try:
                        resp = await self._transport.request(
                            method, url, headers={**headers, "Accept": accept}, params=params
                        )
                    except TransportError as exc:
                        _record_all(log.sends, record, None)
                        raise Retryable(detail=str(exc)) from exc
                    except BaseException:
                        _record_all(log.sends, record, None)
                        raise
            finally:
                self._pacer.ended(resp.headers if resp is not None else None)
            status = resp.status
            problem = parse_problem(resp.body, resp.headers) if status >= 400 else None
            _record_all(log.sends, record, problem.error_code if problem else None)
            if status != 401:
                return resp
            if repeat == 0 and await self._auth.unauthorized(credential):
                continue
            assert problem is not None
            raise StopRun(
                AbortReason.UNAUTHORIZED,
                status=401,
                error_code=problem.error_code,
                detail=problem.detail or "the API refused the credentials",
            )
        raise AssertionError("unreachable")

    def _failure(self, resp: Response) -> Exception:
        problem = parse_problem(resp.body, resp.headers)
        status, code, detail = resp.status, problem.error_code, problem.detail or problem.reason
        if status in RETRYABLE_STATUSES:
            wait = self._note_retry_after(resp, problem)
            return Retryable(status=status, error_code=code, detail=detail, retry_after=wait)
        if status in API_VERSION_STATUSES:
            return StopRun(AbortReason.API_VERSION, status=status, error_code=code, detail=detail)
        if 300 <= status < 400 and detail is None:
            detail = "redirect not followed: credentials never follow one"
        return Rejected(status=status, error_code=code, detail=detail)

    def _note_retry_after(self, resp: Response, problem: ApiProblem) -> float | None:
        """Retry-After (header, else a token bucket's body); a 429 pauses the whole pool."""
        wait = retry_after_seconds(resp.headers, time.time())
        hint = bucket_hint(problem) if resp.status == 429 else None
        if wait is None and hint is not None:
            wait = hint.retry_after
        if resp.status == 429:
            if wait is not None and wait > 0:
                self._pacer.pause_for(wait)
                if self._on_pause is not None:
                    self._on_pause(time.time() + wait, "the API answered 429")
            rate = hint.refill_rate if hint is not None else None
            if rate and self._pacer.lower_rate(rate) and self._on_rate is not None:
                self._on_rate(rate)
        return wait


def _record_all(sends: list[Send], record: Callable[[Attempt], None], code: str | None) -> None:
    last = len(sends) - 1
    for i, s in enumerate(sends):
        error = s.error if s.status is None else None
        if s.status is None and error is None:
            error = AttemptError.CONNECTION
        record(
            Attempt(
                at=s.at,
                http_status=s.status,
                error=error,
                error_code=code if i == last else None,
                ms=s.ms,
            )
        )
