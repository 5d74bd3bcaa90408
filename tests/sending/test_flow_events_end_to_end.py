"""An event posted to the API reaches a phone: the route wakes the flow engine, which writes
the flow's text to the outbox, and the dispatcher hands it to the simulator."""

from __future__ import annotations

import time

from tests.factories import numbers
from tests.sending.stack import sending_stack

from textcast.simulator import SimulatorConfig

FAST = {"queued_delay": 0.01, "dispatch_delay": 0.02, "final_delay": 0.1, "seed": 5}
SHIPPED = {
    "trigger": {"type": "event", "event": "order_shipped"},
    "steps": [
        {
            "id": "shipped",
            "type": "send",
            "body": "Your order {{ event.order }} is on its way. Reply STOP to opt out.",
        }
    ],
}


def test_a_posted_event_sends_the_flows_text_once(database_url: str) -> None:
    phone = numbers(1)[0]
    with sending_stack(database_url, SimulatorConfig(**FAST)) as stack:  # type: ignore[arg-type]
        api = stack.api
        assert api.post("/api/v1/contacts", json={"phone": phone}).status_code == 201
        flow = api.post(
            "/api/v1/flows", json={"name": "Shipping", "definition": SHIPPED, "publish": True}
        )
        assert flow.status_code == 201, flow.text
        event = {"phone": phone, "name": "order_shipped", "properties": {"order": "A-17"}}
        for _ in range(2):  # the retry replays: one event, one run, one text
            posted = api.post("/api/v1/events", json=event, headers={"Idempotency-Key": "A-17"})
            assert posted.json()["runs_started"] == 1, posted.text

        deadline = time.monotonic() + 20
        while stack.simulator.ledger().count(phone) == 0:
            assert time.monotonic() < deadline, "the flow's text never reached the simulator"
            time.sleep(0.05)
        time.sleep(0.5)
        assert stack.simulator.ledger().count(phone) == 1
        figures = api.get(f"/api/v1/flows/{flow.json()['id']}").json()["figures"]
        assert figures["steps"]["shipped"]["sent"] == 1
        assert figures["runs"]["completed"] == 1
