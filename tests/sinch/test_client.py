import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from tests.sinch.wire import PLAN, TOKEN, FakeSinch, Sleeps, answer, batch_json, fail, page_json

from textcast.sinch.client import LOOKUP_MARGIN, SinchClient
from textcast.sinch.errors import (
    SinchBadResponse,
    SinchConnectError,
    SinchNotFound,
    SinchServerError,
    SinchUnauthorized,
    SinchUnknownOutcome,
)
from textcast.sinch.models import BatchRequest

pytestmark = pytest.mark.anyio

BATCH_ID = "01W4FFL35P4NC4K35SMSBATCH1"


async def test_speaks_to_the_service_plan_path_with_a_bearer_token(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(200, batch_json()))
    batch = await client.get_batch(BATCH_ID)
    (request,) = sinch.requests
    assert str(request.url) == f"https://us.sms.api.sinch.com/xms/v1/{PLAN}/batches/{BATCH_ID}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert batch.id == BATCH_ID
    assert batch.from_ == "12015555555"
    assert batch.created_at == datetime(2024, 6, 6, 9, 22, 14, 304000, tzinfo=UTC)


async def test_keeps_fields_sinch_adds_later(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(200, batch_json(new_field={"x": 1})))
    batch = await client.get_batch(BATCH_ID)
    assert batch.model_extra == {"new_field": {"x": 1}}


async def test_get_is_retried_after_a_read_timeout(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", fail(httpx.ReadTimeout), answer(200, batch_json()))
    assert (await client.get_batch(BATCH_ID)).id == BATCH_ID
    assert len(sinch.requests) == 2


async def test_get_is_retried_after_a_5xx(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(503), answer(200, batch_json()))
    assert (await client.get_batch(BATCH_ID)).id == BATCH_ID
    assert len(sinch.requests) == 2


async def test_get_that_never_answers_is_an_unknown_outcome(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=2)
    sinch.on("GET", f"/batches/{BATCH_ID}", fail(httpx.ReadTimeout))
    with pytest.raises(SinchUnknownOutcome):
        await client.get_batch(BATCH_ID)
    assert len(sinch.requests) == 3


async def test_connect_errors_are_retried_then_reported_as_nothing_sent(
    connect: Callable[..., SinchClient], sinch: FakeSinch, sleeps: Sleeps
) -> None:
    client = connect(max_retries=2)
    sinch.on("GET", f"/batches/{BATCH_ID}", fail(httpx.ConnectError))
    with pytest.raises(SinchConnectError) as raised:
        await client.get_batch(BATCH_ID)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert len(sinch.requests) == 3
    assert len(sleeps.waits) == 2


async def test_backoff_is_full_jitter_under_a_doubling_cap(
    connect: Callable[..., SinchClient], sinch: FakeSinch, sleeps: Sleeps
) -> None:
    client = connect(max_retries=6, backoff_base=1.0, backoff_cap=8.0)
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(500))
    with pytest.raises(SinchServerError):
        await client.get_batch(BATCH_ID)
    assert len(sleeps.waits) == 6
    for attempt, wait in enumerate(sleeps.waits):
        assert 0 <= wait <= min(8.0, 2**attempt)


async def test_never_retries_a_404(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(404))
    with pytest.raises(SinchNotFound):
        await client.get_batch(BATCH_ID)
    assert len(sinch.requests) == 1


async def test_never_retries_a_401(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("DELETE", f"/batches/{BATCH_ID}", answer(401))
    with pytest.raises(SinchUnauthorized):
        await client.cancel_batch(BATCH_ID)
    assert len(sinch.requests) == 1


async def test_cancel_deletes_the_batch(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("DELETE", f"/batches/{BATCH_ID}", answer(200, batch_json(canceled=True)))
    assert (await client.cancel_batch(BATCH_ID)).canceled is True


async def test_a_2xx_without_required_fields_is_a_bad_response(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("GET", f"/batches/{BATCH_ID}", answer(200, {"to": ["12017777777"]}))
    with pytest.raises(SinchBadResponse, match="id: Field required"):
        await client.get_batch(BATCH_ID)


async def test_ids_cannot_escape_their_path_segment(client: SinchClient, sinch: FakeSinch) -> None:
    with pytest.raises(SinchNotFound):
        await client.get_batch("../inbounds/x")
    assert sinch.requests[0].url.raw_path.endswith(b"/batches/..%2Finbounds%2Fx")


async def test_dry_run_asks_for_per_recipient_details(
    client: SinchClient, sinch: FakeSinch
) -> None:
    result_json = {
        "number_of_recipients": 1,
        "number_of_messages": 2,
        "per_recipient": [
            {"recipient": "12017777777", "number_of_parts": 2, "body": "Hi", "encoding": "text"}
        ],
    }
    sinch.on("POST", "/batches/dry_run", answer(200, result_json))
    request = BatchRequest(to=["+12017777777"], body="Hi")
    result = await client.dry_run(request, per_recipient=True, number_of_recipients=5)
    (sent,) = sinch.requests
    assert dict(sent.url.params) == {"per_recipient": "true", "number_of_recipients": "5"}
    assert result.number_of_messages == 2
    assert result.per_recipient[0].encoding == "text"


async def test_list_batches_sends_filters_as_query(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("GET", "/batches", answer(200, page_json([batch_json()])))
    since = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
    page = await client.list_batches(client_reference="ref-1", start_date=since, page_size=10)
    assert dict(sinch.requests[0].url.params) == {
        "client_reference": "ref-1",
        "start_date": "2025-01-13T09:00:00.000Z",
        "page": "0",
        "page_size": "10",
    }
    assert [b.id for b in page.batches] == [BATCH_ID]


async def test_find_batches_follows_every_page(client: SinchClient, sinch: FakeSinch) -> None:
    pages = [
        [batch_json(id=f"B{page}{n:02}", client_reference="ref-1") for n in range(100)]
        for page in range(2)
    ] + [[batch_json(id="B200", client_reference="ref-1")]]
    sinch.on(
        "GET",
        "/batches",
        *(answer(200, page_json(items, count=201, page=n)) for n, items in enumerate(pages)),
    )
    since = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
    found = await client.find_batches("ref-1", since)
    assert len(found) == 201
    assert [r.url.params["page"] for r in sinch.requests] == ["0", "1", "2"]
    assert {r.url.params["client_reference"] for r in sinch.requests} == {"ref-1"}
    start = datetime.fromisoformat(sinch.requests[0].url.params["start_date"])
    assert start == since - LOOKUP_MARGIN


async def test_find_batches_stops_at_an_empty_page(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on(
        "GET",
        "/batches",
        answer(200, page_json([batch_json(client_reference="ref-1")], count=500)),
        answer(200, page_json([], count=500, page=1)),
    )
    found = await client.find_batches("ref-1", datetime.now(UTC))
    assert len(found) == 1
    assert len(sinch.requests) == 2


async def test_find_batches_ignores_batches_with_another_reference(
    client: SinchClient, sinch: FakeSinch
) -> None:
    # A server that ignores the filter must not make a different batch look like ours.
    others = [batch_json(client_reference="ref-2"), batch_json(id="X")]
    sinch.on("GET", "/batches", answer(200, page_json(others)))
    assert await client.find_batches("ref-1", datetime.now(UTC)) == []


async def test_batch_delivery_report_filters_and_normalises_recipients(
    client: SinchClient, sinch: FakeSinch
) -> None:
    report = {
        "type": "delivery_report_sms",
        "batch_id": BATCH_ID,
        "total_message_count": "2",
        "statuses": [
            {"code": 0, "status": "Delivered", "count": 1, "recipients": ["44231235674"]},
            {"code": 499, "status": "Vanished", "count": 1, "recipients": ["44231235675"]},
        ],
    }
    sinch.on("GET", f"/batches/{BATCH_ID}/delivery_report", answer(200, report))
    result = await client.get_delivery_report(
        BATCH_ID, type="full", status=["Delivered", "Failed"], code=[0, 402]
    )
    assert dict(sinch.requests[0].url.params) == {
        "type": "full",
        "status": "Delivered,Failed",
        "code": "0,402",
    }
    assert result.total_message_count == 2
    assert [s.recipients for s in result.statuses] == [("+44231235674",), ("+44231235675",)]
    assert result.statuses[1].status == "Vanished"


async def test_recipient_delivery_report_is_asked_without_plus(
    client: SinchClient, sinch: FakeSinch
) -> None:
    report = {
        "type": "recipient_delivery_report_sms",
        "batch_id": BATCH_ID,
        "recipient": "447700900123",
        "code": 401,
        "status": "Dispatched",
        "at": "2024-06-07T14:03:26.536Z",
    }
    sinch.on("GET", f"/batches/{BATCH_ID}/delivery_report/447700900123", answer(200, report))
    result = await client.get_recipient_delivery_report(BATCH_ID, "+447700900123")
    assert (result.recipient, result.code, result.status) == ("+447700900123", 401, "Dispatched")


async def test_lists_recipient_delivery_reports(client: SinchClient, sinch: FakeSinch) -> None:
    report = {
        "type": "recipient_delivery_report_sms",
        "batch_id": BATCH_ID,
        "recipient": "447700900123",
        "code": "0",
        "status": "Delivered",
        "at": "2024-06-07T14:03:26.536Z",
    }
    listing = {"count": 1, "page": 0, "page_size": 1, "delivery_reports": [report]}
    sinch.on("GET", "/delivery_reports", answer(200, listing))
    page = await client.list_delivery_reports(client_reference="ref-1", status=["Delivered"])
    assert sinch.requests[0].url.params["status"] == "Delivered"
    assert page.delivery_reports[0].code == 0


async def test_reads_inbounds(client: SinchClient, sinch: FakeSinch) -> None:
    inbound = {
        "type": "mo_text",
        "id": "01W4FFL35P4NC4K35SMSBATCH8",
        "from": "12015555555",
        "to": "12017777777",
        "body": "STOP",
        "operator_id": 311071,
        "received_at": "2024-06-06T07:52:37.386Z",
    }
    sinch.on("GET", "/inbounds/01W4FFL35P4NC4K35SMSBATCH8", answer(200, inbound))
    sinch.on(
        "GET",
        "/inbounds",
        answer(200, {"count": 1, "page": 0, "page_size": 1, "inbounds": [inbound]}),
    )
    one = await client.get_inbound("01W4FFL35P4NC4K35SMSBATCH8")
    page = await client.list_inbounds(to=["12017777777", "12017777778"])
    assert (one.from_, one.body, one.operator_id) == ("+12015555555", "STOP", "311071")
    assert page.inbounds == (one,)
    assert sinch.requests[1].url.params["to"] == "12017777777,12017777778"


async def test_logs_never_show_the_token_bodies_or_phone_numbers(
    client: SinchClient, sinch: FakeSinch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = {
        "type": "recipient_delivery_report_sms",
        "batch_id": BATCH_ID,
        "recipient": "447700900123",
        "code": 0,
        "status": "Delivered",
        "at": "2024-06-07T14:03:26.536Z",
    }
    path = f"/batches/{BATCH_ID}/delivery_report/447700900123"
    sinch.on("GET", path, answer(503), answer(200, report))
    sinch.on("POST", "/batches", answer(201, batch_json(to=["447700900124"], body="Secret text")))
    await client.get_recipient_delivery_report(BATCH_ID, "+447700900123")
    await client.send_batch(BatchRequest(to=["+447700900124"], body="Secret text"))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "textcast.sinch")
    assert "GET /batches/01W4FFL35P4NC4K35SMSBATCH1/delivery_report/{recipient} -> 503" in logged
    assert "POST /batches -> 201" in logged
    everything = caplog.text
    for secret in (TOKEN, "447700900123", "447700900124", "Secret text"):
        assert secret not in everything


def test_refuses_a_service_plan_id_that_is_not_a_path_segment() -> None:
    with pytest.raises(ValueError, match="service_plan_id"):
        SinchClient("https://us.sms.api.sinch.com", "plan/../x", "token")
