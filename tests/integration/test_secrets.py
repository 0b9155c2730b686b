"""No secret ever leaves: every command, run as a user runs it (``python -m runner`` in a
subprocess) with distinctive secret values, through failures, retries, stale nonces, refused
credentials, ``--verbose`` and ``--log-format json``; then every byte of stdout, stderr and every
file written (reports in all formats, journals) is searched for every secret: the client secret,
the private keys (right and wrong), the Basic credentials of the token request, each access
token the simulator issued and each Digest ``response=`` it received."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.simulator import Credentials, Simulator, SimulatorConfig
from runner.simulator.data import ACME_FED, BULK_FED, bulk_idp_ids
from tests.conftest import REPO_ROOT

CLIENT_ID = "mdb_sa_id_LEAKCHECKclientid0001"
CLIENT_SECRET = "mdb_sa_sk_Zq7LEAKCHECKclientSECRETvalue9x"
PUBLIC_KEY = "leakpubk"
PRIVATE_KEY = "5ec7e7aa-LEAK-CHECK-private-0e1d2c3b4a59"
WRONG_PRIVATE_KEY = "0badbad0-LEAK-CHECK-wrongpriv-77aa66bb55"
WRONG_SECRET = "mdb_sa_sk_WRONGLEAKCHECKsecret42"


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    # Nonces go stale every 5 uses, so Digest runs answer stale challenges as they go.
    return SimulatorConfig(
        seed=3,
        bulk_size=100,
        nonce_max_uses=5,
        token_rate_limit=1000,  # many short runs here; the endpoint's limit is tested elsewhere
        credentials=Credentials(CLIENT_ID, CLIENT_SECRET, PUBLIC_KEY, PRIVATE_KEY),
    )


@dataclass
class Wiretap:
    """What the server received that is secret: Digest responses (the simulator keeps none)."""

    digest_responses: list[str]


@pytest.fixture
def wiretap(sim_thread: Simulator) -> Iterator[Wiretap]:
    tap = Wiretap([])
    verify = sim_thread.digest.verify
    lock = threading.Lock()

    def recording_verify(header: str, method: str, uri: str):  # type: ignore[no-untyped-def]
        m = re.search(r'response="?([0-9a-f]+)', header)
        if m:
            with lock:
                tap.digest_responses.append(m.group(1))
        return verify(header, method, uri)

    sim_thread.digest.verify = recording_verify  # type: ignore[method-assign]
    yield tap


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_ATLAS_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.pop("COLUMNS", None)
    return env


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return path.name


def test_no_secret_in_any_output_or_file(
    sim_thread: Simulator, wiretap: Wiretap, tmp_path: Path
) -> None:
    sim = sim_thread
    shutil.copy(REPO_ROOT / "sample_plans" / "failures.yaml", tmp_path / "failures.yaml")
    shutil.copy(REPO_ROOT / "sample_plans" / "demo.yaml", tmp_path / "demo.yaml")
    bulk = bulk_idp_ids(12)
    lines = ["version: 1", "targets:", f"  - federationSettingsId: {BULK_FED}"]
    lines += ["    identityProviderIds:", *(f"      - {i}" for i in bulk)]
    bulk_plan = write(tmp_path / "bulk.yaml", "\n".join(lines) + "\n")
    secret_plan = write(
        tmp_path / "with-secret.yaml",
        f"version: 1\nsettings:\n  clientSecret: {CLIENT_SECRET}\ntargets:\n"
        f"  - federationSettingsId: {ACME_FED}\n"
        f"    identityProviderId: 32b6e34b3d91647abb20e7b8\n"
        f"    privateKey: {PRIVATE_KEY}\n",
    )

    sa = {**base_env(), **sim.env()}
    key = {**base_env(), **sim.env(api_key=True)}
    key_old_names = {
        **base_env(),
        "MONGODB_ATLAS_BASE_URL": sim.url,
        "MONGODB_ATLAS_PUBLIC_KEY": PUBLIC_KEY,
        "MONGODB_ATLAS_PRIVATE_KEY": PRIVATE_KEY,
    }
    wrong_key = {**key, "MONGODB_ATLAS_PRIVATE_API_KEY": WRONG_PRIVATE_KEY}
    wrong_sa = {**sa, "MONGODB_ATLAS_CLIENT_SECRET": WRONG_SECRET}
    closed = {**key, "MONGODB_ATLAS_BASE_URL": "http://127.0.0.1:9"}
    fast = ["--yes", "--rate", "0", "--timeout", "5"]
    fmt = ["--format", "md,csv,junit"]

    def faults() -> None:
        # Retries and throttling on the way: 500 then success, 429 with Retry-After 1.
        sim.script(500, 503, idp=bulk[0], fed=BULK_FED)
        sim.script({"status": 429, "retryAfter": 1}, idp=bulk[1], fed=BULK_FED)

    runs: list[tuple[list[str], dict[str, str], set[int]]] = [
        (["validate", "failures.yaml"], sa, {0}),
        (["validate", secret_plan], sa, {2}),
        (["run", secret_plan, *fast, "--verbose"], sa, {2}),
        (["run", "failures.yaml", *fast, *fmt, "--report", "sa.json"], sa, {1}),
        (["run", "failures.yaml", *fast, "--verbose", "--report", "sa-v.json"], sa, {1}),
        (["run", "demo.yaml", "--dry-run", "--verbose", *fmt, "--report", "dry.json"], sa, {0}),
        (
            ["run", bulk_plan, *fast, "--verbose", "--log-format", "json", "--report", "bk.json"],
            key,
            {0},
        ),
        (["run", "failures.yaml", *fast, "--verbose", *fmt, "--report", "key.json"], key, {1}),
        (
            ["run", bulk_plan, *fast, "--log-format", "json", "--report", "old.json"],
            key_old_names,
            {0},
        ),
        (["run", bulk_plan, *fast, "--verbose", "--report", "wk.json"], wrong_key, {3}),
        (
            ["run", bulk_plan, *fast, "--log-format", "json", "--report", "wkj.json"],
            wrong_key,
            {3},
        ),
        (["run", bulk_plan, *fast, "--verbose", "--report", "ws.json"], wrong_sa, {3}),
        (
            ["run", bulk_plan, *fast, "--verbose", "--max-attempts", "2", "--report", "cl.json"],
            closed,
            {1},
        ),
        (["report", "sa.json", "--format", "md"], sa, {0}),
        (["report", "key.json", "--format", "csv"], sa, {0}),
        (["report", "wk.json", "--format", "junit"], sa, {0}),
    ]

    def run(argv: list[str], env: dict[str, str], codes: set[int]) -> list[tuple[str, str]]:
        if argv[0] == "run":
            # A plan is locked while it runs: parallel runs each get their own copy.
            own = f"{argv.index('--report') if '--report' in argv else 0}-{argv[-1]}-{argv[1]}"
            shutil.copy(tmp_path / argv[1], tmp_path / own)
            argv = [argv[0], own, *argv[2:]]
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *argv],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        name = " ".join(argv)
        assert proc.returncode in codes, f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, f"{name}:\n{proc.stderr[-2000:]}"
        return [(f"{name} (stdout)", proc.stdout), (f"{name} (stderr)", proc.stderr)]

    # Two API key runs of the bulk plan meet these (whichever comes first); each target can
    # fail at most 4 times of its 5 attempts, so both runs still end revoked.
    faults()
    faults()
    reports = [r for r in runs if r[0][0] == "report"]
    outputs: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for result in pool.map(lambda r: run(*r), [r for r in runs if r not in reports]):
            outputs += result
    for argv, env, codes in reports:
        outputs += run(argv, env, codes)

    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    written = [p for p in files if p.suffix in (".json", ".jsonl", ".md", ".csv", ".xml")]
    assert len(written) >= 12, [p.name for p in files]
    assert any(p.name.endswith(".journal.jsonl") for p in files)
    for p in files:
        if p.suffix == ".yaml":
            continue
        outputs.append((p.name, p.read_text(errors="replace")))

    # What the server issued or received during these runs: it must have happened.
    tokens = list(sim._tokens)  # the simulator's own record of the tokens it issued
    assert tokens, "the service account runs fetched tokens"
    assert len(wiretap.digest_responses) > 20, "the API key runs signed requests"
    stale = [r for r in sim.requests() if r.auth == "digest" and r.status == 401]
    assert stale, "stale nonces and refused keys were answered"

    basic = [base64.b64encode(f"{CLIENT_ID}:{s}".encode()).decode() for s in (CLIENT_SECRET,)]
    basic.append(base64.b64encode(f"{CLIENT_ID}:{WRONG_SECRET}".encode()).decode())
    secrets = {
        "client secret": [CLIENT_SECRET, WRONG_SECRET],
        "private key": [PRIVATE_KEY, WRONG_PRIVATE_KEY],
        # A distinctive part too, in case a secret is cut or wrapped in a message.
        "secret fragment": ["LEAKCHECKclientSECRET", "CHECK-private", "CHECK-wrongpriv"],
        "basic credentials": basic,
        "access token": tokens,
        "digest response": sorted(set(wiretap.digest_responses)),
    }
    hits = [
        f"{kind} in {where}"
        for kind, values in secrets.items()
        for value in values
        for where, text in outputs
        if value in text
    ]
    assert hits == []
