"""Fixtures for the whole suite: the Atlas simulator (in process or in a thread), its
environment for subprocess runs, and report validation against shared/report.schema.json."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.simulator import Simulator, SimulatorConfig, running_simulator

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """/work/shared beside the repo, or $REVOKE_RUNNER_SHARED where the clone lives elsewhere."""
    env = os.environ.get("REVOKE_RUNNER_SHARED")
    candidates = ([Path(env)] if env else []) + [REPO_ROOT.parent / "shared"]
    for c in candidates:
        if (c / "report.schema.json").is_file():
            return c
    pytest.fail(
        "report.schema.json not found in "
        + ", ".join(str(c) for c in candidates)
        + ": set REVOKE_RUNNER_SHARED to the folder holding it"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    """Override in a module (or parametrize indirectly) to configure `simulator`/`sim_thread`."""
    return SimulatorConfig(seed=1)


@pytest.fixture
async def simulator(
    anyio_backend: str, simulator_config: SimulatorConfig
) -> AsyncIterator[Simulator]:
    """The simulator on 127.0.0.1:<free port> in the test's own loop (tests: @pytest.mark.anyio)."""
    sim = Simulator(simulator_config)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def make_simulator(
    anyio_backend: str,
) -> AsyncIterator[Callable[[SimulatorConfig | None], Awaitable[Simulator]]]:
    """``sim = await make_simulator(SimulatorConfig(throttle=2))``: stopped after the test."""
    started: list[Simulator] = []

    async def make(config: SimulatorConfig | None = None) -> Simulator:
        sim = Simulator(config)
        await sim.start("127.0.0.1", 0)
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            await sim.stop()


@pytest.fixture
def sim_thread(simulator_config: SimulatorConfig) -> Iterator[Simulator]:
    """The simulator served from a background thread, for sync tests that run the real
    ``revoke-runner`` in a subprocess against ``sim_thread.url``."""
    with running_simulator(simulator_config) as sim:
        yield sim


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_ATLAS_")}


@pytest.fixture
def atlas_env(sim_thread: Simulator) -> dict[str, str]:
    """A complete environment for a subprocess: this process's, minus any MONGODB_ATLAS_*
    variable, plus the base URL and service account of `sim_thread`."""
    return {**_base_env(), **sim_thread.env()}


@pytest.fixture
def atlas_api_key_env(sim_thread: Simulator) -> dict[str, str]:
    """As `atlas_env`, with the simulator's API key (HTTP Digest) instead of a service account."""
    return {**_base_env(), **sim_thread.env(api_key=True)}


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((shared_dir() / "report.schema.json").read_text())
    return schema


@pytest.fixture
def validate_report(report_schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """``validate_report(report_dict)``: fails the test with every schema violation listed."""
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(report_schema)
    validator_cls.check_schema(report_schema)
    validator = validator_cls(report_schema, format_checker=validator_cls.FORMAT_CHECKER)

    def validate(report: dict[str, Any]) -> None:
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        if errors:
            pytest.fail(
                "report does not match report.schema.json:\n"
                + "\n".join(
                    f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
                ),
                pytrace=False,
            )

    return validate
