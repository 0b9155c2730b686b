"""The pacer against a server-side token bucket shaped like Atlas's (the simulator's): with no
client-side rate, ``Ratelimit-Remaining`` keeps the pool from overrunning the bucket, so a run
meets about one 429 (the probe that learns the refill rate), not a wave of them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.app import execute
from runner.config import RunRequest
from runner.events import NullObserver
from runner.simulator import SimulatorConfig
from runner.simulator.data import bulk_idp_ids

pytestmark = pytest.mark.anyio

FED = "9b5557f69e559786e0a6b5ee"  # the simulator's bulk federation: any count of OIDC IdPs
TARGETS = 100
CAPACITY = 20
REFILL = 40.0


def write_plan(tmp_path: Path, idps: list[str]) -> str:
    lines = ["version: 1", "targets:", f"  - federationSettingsId: {FED}"]
    lines += ["    identityProviderIds:", *(f"      - {i}" for i in idps)]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("retry_after_header", [False, True], ids=["body-only", "Retry-After"])
async def test_an_unlimited_pool_meets_few_429s_from_a_token_bucket(
    make_simulator: Callable[..., Any],
    tmp_path: Path,
    validate_report: Callable[[dict[str, Any]], None],
    retry_after_header: bool,
) -> None:
    sim = await make_simulator(
        SimulatorConfig(
            seed=1, throttle=REFILL, capacity=CAPACITY, retry_after_header=retry_after_header
        )
    )
    req = RunRequest(
        plan_path=write_plan(tmp_path, bulk_idp_ids(TARGETS)),
        report_path=str(tmp_path / "report.json"),
        overrides={"rate": 0, "concurrency": 64, "max_attempts": 5, "timeout": 10},
        assume_yes=True,
    )
    began = time.monotonic()
    record = await execute(req, env=sim.env(), observer=NullObserver(), handle_signals=False)
    took = time.monotonic() - began
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)

    assert record.exit_code == 0
    assert report["summary"]["revoked"] == TARGETS
    revokes = sorted(sim.requests("revoke"), key=lambda r: r.mono)
    throttled = [r for r in revokes if r.status == 429]
    # Without the credit the first wave (64 sent into a bucket of 20) and its retries drew ~60.
    assert len(throttled) <= TARGETS * 0.05, len(throttled)
    # Before any answer only one request goes: the second arrives after the first was answered.
    assert revokes[1].mono >= revokes[0].finished
    assert report["settings"]["effectiveRate"] == pytest.approx(REFILL)
    # Ideal (N - capacity) / refill = 2 s, plus the 1 s pause of one 429: generous bounds.
    assert (TARGETS - CAPACITY) / REFILL <= took < 15.0
