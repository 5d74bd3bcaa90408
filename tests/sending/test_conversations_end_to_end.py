"""An agent's answer through the whole path: a text reaches the app from the simulator, an
agent answers over the API, the dispatcher hands the answer to Sinch once, its delivery report
comes back into the thread; and while a big marketing campaign is sending, the answer is
claimed ahead of the rest of its batches."""

from __future__ import annotations

import time
from typing import Any

from tests.factories import numbers
from tests.sending.stack import Stack, sending_stack

from textcast.sending.dispatcher import BATCHES_PER_ROUND
from textcast.simulator import ALL_DELIVERED, SimulatorConfig

FAST = {"queued_delay": 0.01, "dispatch_delay": 0.02, "final_delay": 0.05, "seed": 17}
ANA = numbers(1)[0]
OUR_NUMBER = "+12017777777"
API = "/api/v1/conversations"


def _simulator() -> SimulatorConfig:
    return SimulatorConfig(outcomes=ALL_DELIVERED, **FAST)  # type: ignore[arg-type]


def _wait(what: str, ready: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := ready()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout}s"
        time.sleep(0.05)
    return found


def _thread_of(stack: Stack, phone: str) -> int | None:
    items = stack.api.get(API).json()["items"]
    return next((item["id"] for item in items if item["phone"] == phone), None)


def test_an_answer_reaches_sinch_once_and_its_delivery_shows_in_the_thread(
    database_url: str,
) -> None:
    with sending_stack(database_url, _simulator(), inbound=True) as stack:
        stack.simulator.inject_inbound(ANA, OUR_NUMBER, "Is the sale online too?")
        thread_id = _wait("the thread", lambda: _thread_of(stack, ANA))

        answer = stack.api.post(
            f"{API}/by-id/{thread_id}/messages", json={"body": "Yes, online too!"}
        )
        assert answer.status_code == 201, answer.text

        def delivered() -> dict[str, Any] | None:
            items = stack.api.get(f"{API}/by-id/{thread_id}").json()["items"]
            out = items[0]
            return out if out["status"] == "delivered" else None

        out = _wait("the delivery report", delivered)
        ledger = stack.simulator.ledger(full=True)
    assert (out["direction"], out["body"], out["kind"]) == (
        "out",
        "Yes, online too!",
        "conversation",
    )
    assert ledger.count(ANA) == 1
    assert ledger.duplicates == {}


def test_an_answer_is_claimed_ahead_of_the_rest_of_a_sending_campaign(database_url: str) -> None:
    audience = numbers(4000, start=100)
    # 40 batches of 100 at 500 texts a second, one at a time: about 8 seconds of sending.
    settings = {"send_rate": 500, "batch_size": 100, "dispatcher_concurrency": 1}
    with sending_stack(database_url, _simulator(), inbound=True, **settings) as stack:
        stack.simulator.inject_inbound(ANA, OUR_NUMBER, "Where is my order?")
        thread_id = _wait("the thread", lambda: _thread_of(stack, ANA))
        created = stack.api.post(
            "/api/v1/campaigns",
            json={
                "name": "Big sale",
                "body": "Sale! Reply STOP to opt out.",
                "recipients": audience,
            },
        ).json()
        assert stack.api.post(f"/api/v1/campaigns/{created['id']}/send").status_code == 202
        _wait("marketing under way", lambda: len(stack.simulator.accepted_batches()) >= 3)

        before = len(stack.simulator.accepted_batches())
        answer = stack.api.post(
            f"{API}/by-id/{thread_id}/messages", json={"body": "It ships today."}
        )
        assert answer.status_code == 201, answer.text
        recipient = ANA.removeprefix("+")
        _wait(
            "the answer",
            lambda: any(recipient in b.recipients for b in stack.simulator.accepted_batches()),
        )
        stack.wait_until_final(created["id"])
        history = stack.simulator.accepted_batches()

    position = next(i for i, b in enumerate(history) if recipient in b.recipients)
    marketing_between = position - before
    marketing_after = len(history) - position - 1
    # At most the batch in flight and a round of the campaign (read just before the answer
    # committed) went first: 1 to 5 measured, 9 with marketing first in every round...
    assert marketing_between <= BATCHES_PER_ROUND + 1, (before, position, len(history))
    # ...while most of the campaign was still to be sent.
    assert marketing_after >= 20, (before, position, len(history))
    assert sum(len(b.recipients) for b in history) == len(audience) + 1
