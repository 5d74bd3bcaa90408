"""Callbacks, signatures, retries, pacing and inbound messages, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
from tests.simulator.harness import AUTH, Receiver, fast_config

from textcast.simulator import (
    Outcome,
    RunningSimulator,
    SimulatorConfig,
    running_simulator,
    running_simulator_async,
    sign_callback,
)

SECRET = "a-shared-secret"
VECTOR_BODY = (
    '{"at":"2025-01-13T09:22:40.914Z","batch_id":"01JHFFHQ0P99JPPNQPJDV7JTBP",'
    '"client_reference":"a client reference","code":0,'
    '"operator_status_at":"2025-01-13T09:22:00Z","recipient":"33662162466",'
    '"status":"Delivered","type":"recipient_delivery_report_sms"}'
)


def send(http: httpx.Client, sim: RunningSimulator, **body: Any) -> dict[str, Any]:
    body.setdefault("to", ["+15551230001"])
    body.setdefault("body", "Hello")
    response = http.post(f"{sim.api_url}/batches", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_signed(call_headers: dict[str, str], body: bytes, secret: str = SECRET) -> None:
    nonce = call_headers["x-sinch-webhook-signature-nonce"]
    stamp = call_headers["x-sinch-webhook-signature-timestamp"]
    assert call_headers["x-sinch-webhook-signature-algorithm"] == "HmacSHA256"
    assert len(nonce) == 26
    assert abs(int(stamp) - time.time()) < 60
    assert call_headers["x-sinch-webhook-signature"] == sign_callback(secret, body, nonce, stamp)


def test_signature_matches_sinchs_test_vector() -> None:
    signature = sign_callback(
        "SMSWebhooksSecret", VECTOR_BODY, "01JHFFHWYY7HSS4FWTMDTQEK8V", 1736760161
    )
    assert signature == "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0="
    assert (
        sign_callback(
            "SMSWebhooksSecret", VECTOR_BODY.encode(), "01JHFFHWYY7HSS4FWTMDTQEK8V", "1736760161"
        )
        == signature
    )


def test_per_recipient_reports_every_status_change_signed(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(webhook_secret=SECRET)
    with running_simulator(config) as sim:
        batch = send(
            http,
            sim,
            to=["+15551230001", "+15551230002"],
            delivery_report="per_recipient",
            callback_url=receiver.url("/dr"),
            client_reference="camp-1",
        )
        receiver.wait_for(lambda: len(receiver.on("/dr")) == 6)
    reports = [call.json() for call in receiver.on("/dr")]
    for call in receiver.on("/dr"):
        assert_signed(call.headers, call.body)
        assert call.headers["content-type"] == "application/json"
    seen = {(r["recipient"], r["status"], r["code"]) for r in reports}
    assert seen == {
        (recipient, status, code)
        for recipient in ("15551230001", "15551230002")
        for status, code in (("Queued", 400), ("Dispatched", 401), ("Delivered", 0))
    }
    delivered = next(r for r in reports if r["status"] == "Delivered")
    assert set(delivered) == {
        "type", "batch_id", "recipient", "code", "status", "at", "operator_status_at",
        "client_reference",
    }  # fmt: skip
    assert delivered["type"] == "recipient_delivery_report_sms"
    assert delivered["batch_id"] == batch["id"]
    assert delivered["client_reference"] == "camp-1"
    queued = next(r for r in reports if r["status"] == "Queued")
    assert "operator_status_at" not in queued


def test_per_recipient_final_sends_one_final_report_each(
    http: httpx.Client, receiver: Receiver
) -> None:
    with running_simulator(fast_config(default_callback_url=receiver.url("/default"))) as sim:
        send(
            http,
            sim,
            to=["+15551230001", "+15551230002", "+15551230003"],
            delivery_report="per_recipient_final",
        )
        receiver.wait_for(lambda: len(receiver.on("/default")) == 3)
        time.sleep(0.1)
    reports = [call.json() for call in receiver.on("/default")]
    assert len(reports) == 3
    assert {r["status"] for r in reports} == {"Delivered"}
    assert "x-sinch-webhook-signature" not in receiver.calls[0].headers


def test_sends_basic_auth_with_reports_and_inbound_when_configured(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(
        callback_basic_auth=("sinch", "pass:word"),
        inbound_callback_url=receiver.url("/mo"),
        webhook_secret=SECRET,
    )
    with running_simulator(config) as sim:
        send(http, sim, delivery_report="per_recipient_final", callback_url=receiver.url("/dr"))
        sim.inject_inbound("+15551230001", "+15550000000", "Hi")
        receiver.wait_for(lambda: len(receiver.on("/dr")) == len(receiver.on("/mo")) == 1)
    expected = "Basic " + base64.b64encode(b"sinch:pass:word").decode()
    assert [call.headers["authorization"] for call in receiver.calls] == [expected, expected]
    for call in receiver.calls:
        assert_signed(call.headers, call.body)
    assert "pass:word" not in repr(config)


def test_summary_and_full_send_one_batch_report_when_all_final(
    http: httpx.Client, receiver: Receiver
) -> None:
    with running_simulator(fast_config()) as sim:
        recipients = ["+15551230001", "+15551230002"]
        send(http, sim, to=recipients, delivery_report="summary", callback_url=receiver.url("/s"))
        send(http, sim, to=recipients, delivery_report="full", callback_url=receiver.url("/f"))
        receiver.wait_for(lambda: len(receiver.on("/s")) == 1 and len(receiver.on("/f")) == 1)
        time.sleep(0.1)
    summary, full = receiver.on("/s")[0].json(), receiver.on("/f")[0].json()
    assert len(receiver.calls) == 2
    assert summary["type"] == full["type"] == "delivery_report_sms"
    assert summary["total_message_count"] == 2
    assert summary["statuses"] == [{"code": 0, "status": "Delivered", "count": 2}]
    assert full["statuses"][0]["recipients"] == ["15551230001", "15551230002"]


def test_none_sends_no_callback(http: httpx.Client, receiver: Receiver) -> None:
    with running_simulator(fast_config(default_callback_url=receiver.url("/dr"))) as sim:
        send(http, sim, delivery_report="none")
        time.sleep(0.3)
        assert sim.stats()["callbacks"]["sent"] == 0
    assert receiver.calls == []


def test_retries_5xx_and_429_then_succeeds(http: httpx.Client, receiver: Receiver) -> None:
    receiver.answers["/dr"] = [503, 429, 500]
    with running_simulator(fast_config(time_scale=0.01)) as sim:
        send(http, sim, delivery_report="per_recipient_final", callback_url=receiver.url("/dr"))
        receiver.wait_for(lambda: len(receiver.on("/dr")) == 4)
        time.sleep(0.05)
        stats = sim.stats()["callbacks"]
    assert stats["sent"] == 4
    assert stats["retried"] == 3
    assert stats["succeeded"] == 1
    assert stats["dropped"] == 0
    bodies = {call.body for call in receiver.on("/dr")}
    assert len(bodies) == 1  # the same report each time
    # Retry k comes 5·2^(k-1) s (here x0.01) after the first failure: 50, 100, 200 ms.
    since_first = [call.at - receiver.calls[0].at for call in receiver.calls[1:]]
    for actual, planned in zip(since_first, (0.05, 0.1, 0.2), strict=True):
        assert planned - 0.005 <= actual < planned + 0.1


def test_drops_on_other_4xx_without_retry(http: httpx.Client, receiver: Receiver) -> None:
    receiver.answers["/dr"] = [400]
    with running_simulator(fast_config()) as sim:
        send(http, sim, delivery_report="per_recipient_final", callback_url=receiver.url("/dr"))
        receiver.wait_for(lambda: len(receiver.on("/dr")) == 1)
        time.sleep(0.2)
        stats = sim.stats()["callbacks"]
    assert len(receiver.on("/dr")) == 1
    assert stats["dropped"] == 1
    assert stats["retried"] == 0


def test_gives_up_after_the_last_retry_on_network_errors(http: httpx.Client) -> None:
    config = fast_config(callback_retries=3, time_scale=0.001)
    with running_simulator(config) as sim:
        send(http, sim, delivery_report="per_recipient_final", callback_url="http://127.0.0.1:9/dr")
        deadline = time.monotonic() + 5
        while sim.stats()["callbacks"]["dropped"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stats = sim.stats()["callbacks"]
    assert stats["sent"] == 4
    assert stats["retried"] == 3


def test_plan_rate_keeps_recipients_queued_then_dispatches_them(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(rate=20, queued_delay=0.1, final_delay=2.0)
    with running_simulator(config) as sim:
        batch = send(
            http,
            sim,
            to=[f"+1555123000{n}" for n in range(6)],
            delivery_report="per_recipient",
            callback_url=receiver.url("/dr"),
        )
        report = http.get(
            f"{sim.api_url}/batches/{batch['id']}/delivery_report", headers=AUTH
        ).json()
        assert report["statuses"] == [{"code": 400, "status": "Queued", "count": 6}]
        receiver.wait_for(
            lambda: sum(c.json()["status"] == "Dispatched" for c in receiver.calls) == 6
        )
    dispatched = [c for c in receiver.calls if c.json()["status"] == "Dispatched"]
    spread = dispatched[-1].at - dispatched[0].at
    assert spread >= 0.15  # 6 recipients at 20/s cannot leave together
    queued_at = min(c.at for c in receiver.calls if c.json()["status"] == "Queued")
    assert dispatched[-1].at - queued_at >= 0.2


def test_injected_inbound_reaches_the_receiver_and_the_api(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(inbound_callback_url=receiver.url("/mo"), webhook_secret=SECRET)
    with running_simulator(config) as sim:
        message = sim.inject_inbound("+15551230001", "+15550000000", "STOP")
        receiver.wait_for(lambda: len(receiver.on("/mo")) == 1)
        listed = http.get(f"{sim.api_url}/inbounds", headers=AUTH).json()
        one = http.get(f"{sim.api_url}/inbounds/{message['id']}", headers=AUTH)
        via_control = http.post(
            f"{sim.base_url}/_simulator/inbound",
            json={"from": "15551230002", "to": "15550000000", "body": "START"},
        )
        # The simulator records an ack once the receiver's answer is back, after the receiver
        # has logged the call: wait for the record itself.
        receiver.wait_for(lambda: len(sim.inbound_acks()) == 2)
        acks = sim.inbound_acks()
    call = receiver.on("/mo")[0]
    assert_signed(call.headers, call.body)
    mo = call.json()
    assert mo["type"] == "mo_text"
    assert (mo["from"], mo["to"], mo["body"]) == ("15551230001", "15550000000", "STOP")
    assert set(mo) == {"type", "id", "from", "to", "body", "received_at"}
    assert listed["count"] == 1 and listed["inbounds"][0] == mo
    assert one.json() == mo
    assert via_control.status_code == 201
    assert [(a["from"], a["body"], a["accepted_before_ack"]) for a in acks] == [
        ("15551230001", "STOP", 0),
        ("15551230002", "START", 0),
    ]


def test_ledger_counts_duplicates_across_batches(http: httpx.Client) -> None:
    with running_simulator(fast_config()) as sim:
        send(http, sim, to=["+15551230001", "+15551230002"], client_reference="a")
        send(http, sim, to=["15551230001"], client_reference="a")
        ledger = sim.ledger()
        over_http = http.get(f"{sim.base_url}/_simulator/ledger").json()
        sim.reset()
        assert sim.ledger().accepted_recipients == 0
    assert ledger.accepted_recipients == 3
    assert ledger.distinct_recipients == 2
    assert ledger.duplicates == {"15551230001": 2}
    assert ledger.count("+15551230001") == 2
    assert ledger.duplicate_client_references == {"a": 2}
    assert over_http["duplicates"] == [{"recipient": "15551230001", "count": 2}]
    assert "recipients" not in over_http


def test_cancel_reports_cancelled_recipients_per_mode(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(rate=5, final_delay=0.05)
    with running_simulator(config) as sim:
        batch = send(
            http,
            sim,
            to=[f"+1555123000{n}" for n in range(5)],
            delivery_report="per_recipient_final",
            callback_url=receiver.url("/dr"),
        )
        http.delete(f"{sim.api_url}/batches/{batch['id']}", headers=AUTH)
        receiver.wait_for(lambda: len(receiver.on("/dr")) == 5)
    statuses = [c.json()["status"] for c in receiver.on("/dr")]
    assert statuses.count("Cancelled") >= 3
    assert {c.json()["code"] for c in receiver.on("/dr") if c.json()["status"] == "Cancelled"} == {
        407
    }


def test_running_simulator_serves_the_configured_plan(http: httpx.Client) -> None:
    config = SimulatorConfig(service_plan_id="plan42", api_token="t0k")
    with running_simulator(config) as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        assert sim.api_url.endswith("/xms/v1/plan42")
        ok = http.get(f"{sim.api_url}/batches", headers={"authorization": "Bearer t0k"})
        assert ok.status_code == 200


def test_async_variant_serves_from_the_callers_loop() -> None:
    async def main() -> None:
        async with running_simulator_async(fast_config()) as sim:
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{sim.api_url}/batches",
                    json={"to": ["+15551230001"], "body": "Hi"},
                    headers=AUTH,
                )
            assert response.status_code == 201
            assert sim.ledger().accepted_recipients == 1
            assert sim.state.batch(response.json()["id"]) is not None

    asyncio.run(main())


def test_chosen_numbers_end_with_their_own_outcome_whatever_the_draw(
    http: httpx.Client, receiver: Receiver
) -> None:
    config = fast_config(
        default_callback_url=receiver.url("/default"),
        number_outcomes={
            "+15551230001": Outcome("Deleted", 0, 1.0),
            "15551230002": Outcome("Aborted", 404, 1.0, operator=False),
        },
    )
    with running_simulator(config) as sim:
        send(
            http,
            sim,
            to=["+15551230001", "+15551230002", "+15551230003"],
            delivery_report="per_recipient_final",
        )
        receiver.wait_for(lambda: len(receiver.on("/default")) == 3)
    reports = {r["recipient"]: r for r in (call.json() for call in receiver.on("/default"))}
    assert (reports["15551230001"]["status"], reports["15551230001"]["code"]) == ("Deleted", 0)
    assert (reports["15551230002"]["status"], reports["15551230002"]["code"]) == ("Aborted", 404)
    assert "operator_status_at" not in reports["15551230002"]
    assert (reports["15551230003"]["status"], reports["15551230003"]["code"]) == ("Delivered", 0)


def test_chosen_numbers_change_at_run_time_through_the_control_api(
    http: httpx.Client, receiver: Receiver
) -> None:
    with running_simulator(fast_config(default_callback_url=receiver.url("/default"))) as sim:
        control = f"{sim.base_url}/_simulator/outcomes"
        changed = http.post(control, json={"+15551230001": {"status": "Failed", "code": 11}})
        assert changed.status_code == 200, changed.text
        assert http.get(control).json() == {
            "+15551230001": {"status": "Failed", "code": 11, "operator": True}
        }
        assert http.post(control, json={"+15551230001": {"status": "Queued"}}).status_code == 400
        assert http.post(control, json=["+15551230001"]).status_code == 400
        send(http, sim, to=["+15551230001", "+15551230002"], delivery_report="per_recipient_final")
        receiver.wait_for(lambda: len(receiver.on("/default")) == 2)
        http.post(f"{sim.base_url}/_simulator/reset")
        assert http.get(control).json() == {}
    reports = {r["recipient"]: r for r in (call.json() for call in receiver.on("/default"))}
    assert (reports["15551230001"]["status"], reports["15551230001"]["code"]) == ("Failed", 11)
    assert reports["15551230002"]["status"] == "Delivered"
