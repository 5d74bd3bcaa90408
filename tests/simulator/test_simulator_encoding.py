"""The simulator's dry run counts the shared table of bodies the way textcast does, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.encoding_table import CASES, GSM, UCS, Case
from tests.simulator.harness import AUTH, fast_config

from textcast.simulator import RunningSimulator, running_simulator

DRY_RUN_ENCODING = {GSM: "text", UCS: "unicode"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(fast_config()) as running:
        yield running


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_dry_run_counts_the_shared_table(
    case: Case, sim: RunningSimulator, http: httpx.Client
) -> None:
    response = http.post(
        f"{sim.api_url}/batches/dry_run",
        params={"per_recipient": "true"},
        json={"to": ["+15551230001"], "body": case.body},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["number_of_messages"] == case.parts
    (detail,) = result["per_recipient"]
    assert (detail["body"], detail["encoding"], detail["number_of_parts"]) == (
        case.body,
        DRY_RUN_ENCODING[case.encoding],
        case.parts,
    )
