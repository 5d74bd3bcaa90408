"""A fake Sinch SMS REST API (xms v1) for offline runs and tests.

It imports nothing else from textcast, so a misunderstanding of Sinch's wire format shared with
the real client cannot hide. The control API under `/_simulator` is described in `control.py`.
"""

from textcast.simulator.app import create_app
from textcast.simulator.config import ALL_DELIVERED, Faults, Outcome, SimulatorConfig
from textcast.simulator.encoding import Encoding, measure_body
from textcast.simulator.ledger import AcceptedBatch, LedgerReport
from textcast.simulator.servers import (
    RunningSimulator,
    running_simulator,
    running_simulator_async,
    serve_simulator,
)
from textcast.simulator.signatures import sign_callback, signature_headers
from textcast.simulator.state import SimulatorState

__all__ = [
    "ALL_DELIVERED",
    "AcceptedBatch",
    "Encoding",
    "Faults",
    "LedgerReport",
    "Outcome",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorState",
    "create_app",
    "measure_body",
    "running_simulator",
    "running_simulator_async",
    "serve_simulator",
    "sign_callback",
    "signature_headers",
]
