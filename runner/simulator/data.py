"""The simulator's built-in, deterministic dataset of federations and identity providers.

Small federations are stored IdP by IdP; the large and bulk ones compute their IdPs from a
counter (a fixed 16-hex prefix + an 8-hex counter, with a repeating type pattern), so a
federation of 200,000 IdPs costs nothing to hold and any page of it is computed directly.
The demo federations match ``sample_plans/demo.yaml``; ``sample_plans/large.yaml`` targets the
bulk federation (see ``bulk_plan_yaml``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

Protocol_ = Literal["OIDC", "SAML"]
IdpType = Literal["WORKFORCE", "WORKLOAD"]
PROTOCOLS: Final[tuple[Protocol_, ...]] = ("SAML", "OIDC")
IDP_TYPES: Final[tuple[IdpType, ...]] = ("WORKFORCE", "WORKLOAD")

# Demo federations (the first two are the examples of SPEC.md's plan).
ACME_FED: Final = "5d1113b25a115342acc2d1aa"
GLOBEX_FED: Final = "6e2224c36b226453bdd3e2bb"
INITECH_FED: Final = "7f3335d47c337564cee4f3cc"  # the caller is not Org Owner there: 403
LARGE_FED: Final = "8a4446e58d448675dff5a4dd"
BULK_FED: Final = "9b5557f69e559786e0a6b5ee"

LARGE_PREFIX: Final = "1a2a3a4a5a6a7a8a"
BULK_PREFIX: Final = "c0ffee00c0ffee00"
LARGE_SIZE: Final = 1350  # 600 OIDC WORKFORCE, 600 OIDC WORKLOAD, 150 SAML
DEFAULT_BULK_SIZE: Final = 200_000


@dataclass(frozen=True, slots=True)
class Idp:
    id: str
    protocol: Protocol_
    idp_type: IdpType
    display_name: str

    def to_json(self) -> dict[str, Any]:
        """The IdP as Atlas renders it (field sets as in atlas-recordings/)."""
        if self.protocol == "SAML":
            return {
                "acsUrl": f"https://auth.example.invalid/sso/saml2/{self.id}",
                "associatedDomains": ["example.com"],
                "associatedOrgs": [],
                "audienceUri": f"https://www.okta.com/saml2/service-provider/{self.id}",
                "createdAt": "2024-07-30T15:11:58Z",
                "description": "",
                "displayName": self.display_name,
                "id": self.id,
                "idpType": self.idp_type,
                "issuerUri": "urn:idp:default",
                "oktaIdpId": self.id[:20],
                "pemFileInfo": {
                    "certificates": [
                        {"notAfter": "2051-12-16T14:28:59Z", "notBefore": "2024-07-30T14:28:59Z"}
                    ],
                    "fileName": None,
                },
                "protocol": "SAML",
                "requestBinding": "HTTP-POST",
                "responseSignatureAlgorithm": "SHA-256",
                "slug": "",
                "ssoDebugEnabled": False,
                "ssoUrl": "https://sso.example.invalid",
                "status": "ACTIVE",
                "updatedAt": "2024-07-30T15:12:50Z",
            }
        body: dict[str, Any] = {}
        if self.idp_type == "WORKFORCE":
            body["associatedDomains"] = ["example.com"]
        body["associatedOrgs"] = []
        body["audience"] = self.display_name
        body["authorizationType"] = "GROUP"
        if self.idp_type == "WORKFORCE":
            body["clientId"] = f"client-{self.display_name}"
        body.update(
            {
                "createdAt": "2026-08-10T03:07:49Z",
                "description": "revoke-runner simulator",
                "displayName": self.display_name,
                "groupsClaim": "groups",
                "id": self.id,
                "idpType": self.idp_type,
                "issuerUri": "https://issuer.example.invalid",
                "oktaIdpId": None,
                "protocol": "OIDC",
            }
        )
        if self.idp_type == "WORKFORCE":
            body["requestedScopes"] = []
        body["updatedAt"] = None
        body["userClaim"] = "user"
        return body


class Federation(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def owner(self) -> bool:
        """False where the caller lacks the Organization Owner role: every request gets 403."""
        ...

    def get(self, idp_id: str) -> Idp | None: ...

    def page(
        self, protocols: frozenset[str], types: frozenset[str], offset: int, limit: int
    ) -> tuple[list[Idp], int]:
        """The IdPs matching both filters from ``offset`` (at most ``limit``), and their total."""
        ...


@dataclass(slots=True)
class StoredFederation:
    id: str
    name: str
    idps: Sequence[Idp]
    owner: bool = True
    _by_id: dict[str, Idp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {i.id: i for i in self.idps}

    def get(self, idp_id: str) -> Idp | None:
        return self._by_id.get(idp_id)

    def page(
        self, protocols: frozenset[str], types: frozenset[str], offset: int, limit: int
    ) -> tuple[list[Idp], int]:
        hits = [i for i in self.idps if i.protocol in protocols and i.idp_type in types]
        return hits[offset : offset + limit], len(hits)


@dataclass(frozen=True, slots=True)
class ComputedFederation:
    """IdP number ``n`` has id ``prefix + f"{n:08x}"`` and kind ``pattern[n % len(pattern)]``."""

    id: str
    name: str
    prefix: str
    size: int
    pattern: tuple[tuple[Protocol_, IdpType], ...]
    owner: bool = True

    def _idp(self, n: int) -> Idp:
        protocol, idp_type = self.pattern[n % len(self.pattern)]
        kind = "saml" if protocol == "SAML" else idp_type.lower()
        return Idp(f"{self.prefix}{n:08x}", protocol, idp_type, f"{self.name}-{kind}-{n:06d}")

    def get(self, idp_id: str) -> Idp | None:
        if len(idp_id) != 24 or not idp_id.startswith(self.prefix):
            return None
        try:
            n = int(idp_id[16:], 16)
        except ValueError:
            return None
        if n >= self.size or idp_id != f"{self.prefix}{n:08x}":
            return None
        return self._idp(n)

    def page(
        self, protocols: frozenset[str], types: frozenset[str], offset: int, limit: int
    ) -> tuple[list[Idp], int]:
        period = len(self.pattern)
        slots = [i for i, (p, t) in enumerate(self.pattern) if p in protocols and t in types]
        if not slots:
            return [], 0
        full, rest = divmod(self.size, period)
        total = full * len(slots) + sum(1 for s in slots if s < rest)
        end = min(offset + limit, total)
        return [
            self._idp((k // len(slots)) * period + slots[k % len(slots)])
            for k in range(offset, end)
        ], total


def _stored(
    fed: str, name: str, rows: Iterable[tuple[str, str, str, str]], *, owner: bool = True
) -> StoredFederation:
    idps = [Idp(i, p, t, n) for i, p, t, n in rows]  # type: ignore[arg-type]
    return StoredFederation(fed, name, idps, owner=owner)


def build_dataset(bulk_size: int = DEFAULT_BULK_SIZE) -> dict[str, Federation]:
    """Every federation the simulator knows, by id."""
    acme = _stored(
        ACME_FED,
        "acme",
        [
            ("32b6e34b3d91647abb20e7b8", "OIDC", "WORKFORCE", "okta-prod"),
            ("32b6e34b3d91647abb20e7b9", "OIDC", "WORKFORCE", "okta-staging"),
            ("32b6e34b3d91647abb20e7ba", "OIDC", "WORKLOAD", "github-actions"),
            ("32b6e34b3d91647abb20e7bb", "OIDC", "WORKLOAD", "gitlab-ci"),
            ("32b6e34b3d91647abb20e7bc", "OIDC", "WORKFORCE", "azure-ad-emea"),
            ("32b6e34b3d91647abb20e7bd", "OIDC", "WORKLOAD", "k8s-prod-cluster"),
            ("32b6e34b3d91647abb20e7be", "SAML", "WORKFORCE", "okta-saml-legacy"),
        ],
    )
    globex = _stored(
        GLOBEX_FED,
        "globex",
        [
            ("6e2224c36b226453bdd30001", "OIDC", "WORKFORCE", "globex-entra"),
            ("6e2224c36b226453bdd30002", "SAML", "WORKFORCE", "globex-adfs-saml"),
            ("6e2224c36b226453bdd30003", "OIDC", "WORKLOAD", "globex-gcp-workload"),
            ("6e2224c36b226453bdd30004", "OIDC", "WORKFORCE", "globex-auth0"),
            ("6e2224c36b226453bdd30005", "OIDC", "WORKLOAD", "globex-aws-eks"),
            ("6e2224c36b226453bdd30006", "OIDC", "WORKLOAD", "globex-jenkins"),
            ("6e2224c36b226453bdd30007", "SAML", "WORKFORCE", "globex-pingfed-saml"),
            ("6e2224c36b226453bdd30008", "OIDC", "WORKFORCE", "globex-keycloak"),
        ],
    )
    initech = _stored(
        INITECH_FED,
        "initech",
        [
            ("7f3335d47c337564cee40001", "OIDC", "WORKFORCE", "initech-okta"),
            ("7f3335d47c337564cee40002", "OIDC", "WORKLOAD", "initech-ci"),
        ],
        owner=False,
    )
    large = ComputedFederation(
        LARGE_FED,
        "large",
        LARGE_PREFIX,
        LARGE_SIZE,
        (("OIDC", "WORKFORCE"),) * 4 + (("OIDC", "WORKLOAD"),) * 4 + (("SAML", "WORKFORCE"),),
    )
    bulk = ComputedFederation(
        BULK_FED, "bulk", BULK_PREFIX, bulk_size, (("OIDC", "WORKFORCE"), ("OIDC", "WORKLOAD"))
    )
    return {f.id: f for f in (acme, globex, initech, large, bulk)}


def bulk_idp_ids(count: int, start: int = 0) -> list[str]:
    """Ids of the bulk federation's IdPs ``start .. start+count-1`` (all OIDC)."""
    return [f"{BULK_PREFIX}{n:08x}" for n in range(start, start + count)]


def bulk_plan_yaml(count: int, *, per_entry: int = 100) -> str:
    """A valid plan revoking ``count`` IdPs of the bulk federation, ``per_entry`` ids per entry.

    Used for ``sample_plans/large.yaml`` (2,000) and by benchmarks for bigger runs.
    """
    lines = ["version: 1", "targets:"]
    ids = bulk_idp_ids(count)
    for chunk_start in range(0, count, per_entry):
        chunk = ids[chunk_start : chunk_start + per_entry]
        lines.append(f"  - federationSettingsId: {BULK_FED}")
        lines.append(f"    label: bulk-{chunk_start // per_entry + 1:04d}")
        lines.append("    identityProviderIds:")
        lines.extend(f"      - {i}" for i in chunk)
    return "\n".join(lines) + "\n"
