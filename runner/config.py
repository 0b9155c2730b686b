"""What a run is asked to do: settings merged from defaults, the plan and the command line;
credentials and base URL from the environment. Pure: the environment comes in as a mapping.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .errors import CredentialsError, UsageError
from .model import Settings

DEFAULT_BASE_URL = "https://cloud.mongodb.com"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApiKey:
    public_key: str
    private_key: str = field(repr=False)


Credentials = ServiceAccount | ApiKey


@dataclass(frozen=True, slots=True)
class RunRequest:
    """Everything ``run`` needs, as a Python caller would give it."""

    plan_path: str
    report_path: str | None = None
    formats: tuple[str, ...] = ()
    journal_path: str | None = None
    resume: str | None = None
    # Settings given on the command line (Settings field names); they win over the plan's.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    dry_run: bool = False
    assume_yes: bool = False


def merge_settings(plan_settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> Settings:
    values = {**plan_settings, **{k: v for k, v in overrides.items() if v is not None}}
    return dataclasses.replace(Settings(), **values)


def default_report_path(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"revoke-report-{stamp}.json"


def report_stem(report_path: str) -> str:
    """The report path without ``.json``: where the journal and the other formats go."""
    return report_path[:-5] if report_path.lower().endswith(".json") else report_path


def journal_path_for(report_path: str, journal: str | None, resume: str | None) -> str:
    if resume is not None:
        return resume
    return journal if journal is not None else report_stem(report_path) + ".journal.jsonl"


def base_url_from(given: str | None, env: Mapping[str, str]) -> str:
    """``https://``, or ``http://`` to a loopback host only; refuse anything else."""
    url = (given or env.get("MONGODB_ATLAS_BASE_URL") or DEFAULT_BASE_URL).strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise UsageError(f"base URL {_safe(url)} has an invalid port") from None
    secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))
    if host and secure:
        pass
    elif parts.scheme == "http" and host:
        raise UsageError(
            f"base URL {_safe(url)} is plain http to a non-loopback host: use https:// "
            "(http:// is allowed only for 127.0.0.0/8, ::1 and localhost)"
        )
    else:
        raise UsageError(f"base URL {_safe(url)} is not an https:// URL")
    if parts.username or parts.password:
        raise UsageError("base URL must not carry credentials; use the environment variables")
    if parts.query or parts.fragment:
        raise UsageError(f"base URL {_safe(url)} must not have a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


_SA_ID, _SA_SECRET = "MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"
# Each API key variable, in the order looked up: the Atlas CLI's spelling, then the older one.
_PUBLIC = ("MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PUBLIC_KEY")
_PRIVATE = ("MONGODB_ATLAS_PRIVATE_API_KEY", "MONGODB_ATLAS_PRIVATE_KEY")


def credentials_from(env: Mapping[str, str]) -> Credentials:
    """A complete service account wins; else a complete API key; else say what is missing.

    A pair with one half set is refused even when the other pair is complete: it is a typo or a
    forgotten variable, and running with credentials the operator did not mean is worse.
    """
    cid, secret = env.get(_SA_ID) or None, env.get(_SA_SECRET) or None
    pub = next((env[k] for k in _PUBLIC if env.get(k)), None)
    priv = next((env[k] for k in _PRIVATE if env.get(k)), None)
    half: list[str] = []
    if bool(cid) != bool(secret):
        missing = _SA_SECRET if cid else _SA_ID
        half.append(f"service account incomplete: {missing} is not set")
    if bool(pub) != bool(priv):
        names = _PRIVATE if pub else _PUBLIC
        half.append(f"API key incomplete: {names[0]} (or {names[1]}) is not set")
    if half:
        raise CredentialsError("; ".join(half))
    if cid and secret:
        return ServiceAccount(cid, secret)
    if pub and priv:
        return ApiKey(pub, priv)
    raise CredentialsError(
        f"no credentials: set {_SA_ID} and {_SA_SECRET} (service account), "
        f"or {_PUBLIC[0]} and {_PRIVATE[0]} (API key)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe(url: str) -> str:
    """The URL without any userinfo, for messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url
