"""Injected faults, as a client over real HTTP experiences them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from tests.simulator.harness import AUTH, fast_config

from textcast.simulator import Faults, RunningSimulator, running_simulator

BODY = {"to": ["+15551230001"], "body": "Hello", "client_reference": "ref-f"}


def post_batch(http: httpx.Client, sim: RunningSimulator, timeout: float = 5.0) -> httpx.Response:
    return http.post(f"{sim.api_url}/batches", json=BODY, headers=AUTH, timeout=timeout)


def accepted(sim: RunningSimulator) -> int:
    return sim.ledger().accepted_recipients


def test_5xx_answers_with_an_error_body_and_processes_nothing(http: httpx.Client) -> None:
    with running_simulator(fast_config(faults=Faults(error_5xx=1.0))) as sim:
        statuses = set()
        for _ in range(6):
            response = post_batch(http, sim)
            statuses.add(response.status_code)
            assert set(response.json()) == {"code", "text"}
        assert accepted(sim) == 0
        assert sim.stats()["faults"] == {"error_5xx": 6}
    assert statuses <= {500, 503}


def test_429_carries_retry_after_and_processes_nothing(http: httpx.Client) -> None:
    with running_simulator(fast_config(faults=Faults(error_429=1.0, retry_after=2))) as sim:
        response = post_batch(http, sim)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        sim.set_faults(Faults(error_429=1.0, retry_after=0.2))
        assert post_batch(http, sim).headers["retry-after"] == "0.2"
        assert accepted(sim) == 0


def test_accept_then_timeout_keeps_the_batch_but_never_answers_in_time(http: httpx.Client) -> None:
    faults = Faults(accept_then_timeout=1.0, hang_seconds=30)
    with running_simulator(fast_config(faults=faults)) as sim:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            post_batch(http, sim, timeout=0.3)
        assert accepted(sim) == 1
        found = http.get(
            f"{sim.api_url}/batches", params={"client_reference": "ref-f"}, headers=AUTH
        ).json()
        assert found["count"] == 1
    assert time.monotonic() - started < 5  # shutdown released the held answer


@pytest.mark.parametrize(("after", "expected"), [(1.0, 1), (0.0, 0)])
def test_connection_reset_is_a_transport_error(
    http: httpx.Client, after: float, expected: int
) -> None:
    faults = Faults(connection_reset=1.0, reset_after_processing=after)
    with running_simulator(fast_config(faults=faults)) as sim:
        with pytest.raises(httpx.TransportError):
            post_batch(http, sim)
        assert accepted(sim) == expected


def test_latency_delays_every_api_response(http: httpx.Client) -> None:
    with running_simulator(fast_config(faults=Faults(latency=(0.2, 0.25)))) as sim:
        started = time.monotonic()
        response = http.get(f"{sim.api_url}/batches", headers=AUTH)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.2


def test_faults_apply_to_sends_only_unless_asked(http: httpx.Client) -> None:
    with running_simulator(fast_config(faults=Faults(error_5xx=1.0))) as sim:
        assert http.get(f"{sim.api_url}/batches", headers=AUTH).status_code == 200
        sim.set_faults(Faults(error_5xx=1.0, apply_to_reads=True))
        assert http.get(f"{sim.api_url}/batches", headers=AUTH).status_code >= 500


def test_faults_change_at_run_time_through_the_control_api(http: httpx.Client) -> None:
    with running_simulator(fast_config()) as sim:
        control = f"{sim.base_url}/_simulator/faults"
        changed = http.post(control, json={"error_429": 1.0, "latency": [0, 0.01]})
        assert changed.status_code == 200
        assert changed.json()["error_429"] == 1.0
        assert post_batch(http, sim).status_code == 429
        assert http.post(control, json={"bogus": 1}).status_code == 400
        assert http.post(control, json={"error_5xx": 0.7, "error_429": 0.7}).status_code == 400
        http.post(control, json={})
        assert post_batch(http, sim).status_code == 201
        stats: dict[str, Any] = http.get(f"{sim.base_url}/_simulator/stats").json()
        assert stats["faults"] == {"error_429": 1}
        assert stats["batches"] == 1


def test_seeded_fault_draws_are_reproducible(http: httpx.Client) -> None:
    def outcomes() -> list[int]:
        config = fast_config(seed=3, faults=Faults(error_5xx=0.5))
        with running_simulator(config) as sim:
            return [post_batch(http, sim).status_code // 100 for _ in range(12)]

    first = outcomes()
    assert first == outcomes()
    assert set(first) == {2, 5}
