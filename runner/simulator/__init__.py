"""The bundled Atlas simulator: a local stand-in for the endpoints revoke-runner uses.

In process: ``async with Simulator(SimulatorConfig(...)) as sim: ...`` or, from sync code,
``with running_simulator(cfg) as sim: ...``. From a shell: ``revoke-runner simulate``.
"""

from .data import (
    ACME_FED,
    BULK_FED,
    GLOBEX_FED,
    INITECH_FED,
    LARGE_FED,
    bulk_idp_ids,
    bulk_plan_yaml,
)
from .faults import Fault, parse_fault
from .server import Credentials, RequestRecord, Simulator, SimulatorConfig, running_simulator

__all__ = [
    "ACME_FED",
    "BULK_FED",
    "GLOBEX_FED",
    "INITECH_FED",
    "LARGE_FED",
    "Credentials",
    "Fault",
    "RequestRecord",
    "Simulator",
    "SimulatorConfig",
    "bulk_idp_ids",
    "bulk_plan_yaml",
    "parse_fault",
    "running_simulator",
]
