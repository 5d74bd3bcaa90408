import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from tests.sinch.wire import FakeSinch, answer, batch_json, fail, page_json

from textcast.sending.provider import (
    Accepted,
    OutboundBatch,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from textcast.sinch.client import SinchClient
from textcast.sinch.provider import SinchProvider

pytestmark = pytest.mark.anyio

OUTBOUND = OutboundBatch(
    client_reference="tc-batch-42",
    recipients=["+12017777777", "+33612345678"],
    body="Hi ${name}",
    parameters={"name": {"+12017777777": "Ann", "default": "there"}},
    sender="+12015555555",
    callback_url="https://example.test/api/webhooks/delivery-reports",
)
SINCE = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


@pytest.fixture
def provider(connect: Callable[..., SinchClient]) -> SinchProvider:
    return SinchProvider(connect(max_retries=1))


async def test_submit_sends_the_batch_and_returns_sinch_batch_id(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(201, batch_json(id="SINCH1")))
    assert await provider.submit(OUTBOUND) == Accepted(provider_batch_id="SINCH1")
    assert FakeSinch.body(sinch.requests[0]) == {
        "to": ["+12017777777", "+33612345678"],
        "body": "Hi ${name}",
        "from": "+12015555555",
        "parameters": {"name": {"+12017777777": "Ann", "default": "there"}},
        "callback_url": "https://example.test/api/webhooks/delivery-reports",
        "delivery_report": "per_recipient_final",
        "client_reference": "tc-batch-42",
    }


async def test_submit_leaves_out_what_the_batch_does_not_set(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(201, batch_json()))
    await provider.submit(OutboundBatch("ref", ["+12017777777"], "Hi"))
    assert set(FakeSinch.body(sinch.requests[0])) == {
        "to",
        "body",
        "delivery_report",
        "client_reference",
    }


@pytest.mark.parametrize("status", [400, 403])
async def test_a_sinch_refusal_is_a_rejection_with_its_code_and_text(
    provider: SinchProvider, sinch: FakeSinch, status: int
) -> None:
    body = {"code": "missing_callback_url", "text": "Requesting delivery report without URL."}
    sinch.on("POST", "/batches", answer(status, body))
    with pytest.raises(ProviderRejected) as raised:
        await provider.submit(OUTBOUND)
    assert (raised.value.code, raised.value.status) == ("missing_callback_url", status)
    assert raised.value.text == "Requesting delivery report without URL."


async def test_a_refusal_without_a_code_is_named_by_its_status(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(415))
    with pytest.raises(ProviderRejected) as raised:
        await provider.submit(OUTBOUND)
    assert raised.value.code == "http_415"


@pytest.mark.parametrize("status", [401, 404])
async def test_wrong_credentials_make_sinch_unavailable_and_are_logged_loudly(
    provider: SinchProvider, sinch: FakeSinch, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    sinch.on("POST", "/batches", answer(status))
    with pytest.raises(ProviderUnavailable, match="credentials"):
        await provider.submit(OUTBOUND)
    assert any(
        r.levelno == logging.ERROR and "SINCH_API_TOKEN" in r.getMessage() for r in caplog.records
    )


async def test_rate_limits_that_outlast_the_retries_are_unavailable_with_retry_after(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(429, headers={"Retry-After": "600"}))
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.submit(OUTBOUND)
    assert raised.value.retry_after == 600.0


async def test_a_sinch_that_cannot_be_reached_is_unavailable(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ConnectError))
    with pytest.raises(ProviderUnavailable):
        await provider.submit(OUTBOUND)


async def test_server_errors_that_outlast_the_retries_are_unavailable(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(500))
    sinch.on("GET", "/batches", answer(200, page_json([])))
    with pytest.raises(ProviderUnavailable):
        await provider.submit(OUTBOUND)


async def test_a_lost_answer_is_an_unknown_outcome(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ReadTimeout))
    sinch.on("GET", "/batches", answer(503))
    with pytest.raises(ProviderUnknownOutcome):
        await provider.submit(OUTBOUND)


async def test_a_batch_sinch_would_refuse_is_rejected_without_a_request(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    too_many = OutboundBatch("ref", [f"+1201555{n:04}" for n in range(1001)], "Hi")
    with pytest.raises(ProviderRejected) as raised:
        await provider.submit(too_many)
    assert raised.value.code == "invalid_request"
    assert "+1201555" not in raised.value.text
    assert sinch.requests == []


async def test_lookup_finds_the_batch_by_reference(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    found = [batch_json(id="SINCH1", client_reference="tc-batch-42")]
    sinch.on("GET", "/batches", answer(200, page_json(found)))
    assert await provider.lookup("tc-batch-42", SINCE) == Accepted("SINCH1")
    assert sinch.requests[0].url.params["client_reference"] == "tc-batch-42"


async def test_lookup_of_a_batch_sinch_does_not_have_is_none(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    sinch.on("GET", "/batches", answer(200, page_json([])))
    assert await provider.lookup("tc-batch-42", SINCE) is None


async def test_lookup_picks_the_oldest_of_duplicates_and_says_so(
    provider: SinchProvider, sinch: FakeSinch, caplog: pytest.LogCaptureFixture
) -> None:
    duplicates = [
        batch_json(id="NEWER", client_reference="r", created_at="2025-01-13T09:05:00Z"),
        batch_json(id="OLDER", client_reference="r", created_at="2025-01-13T09:01:00Z"),
    ]
    sinch.on("GET", "/batches", answer(200, page_json(duplicates)))
    assert await provider.lookup("r", SINCE) == Accepted("OLDER")
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_a_failed_lookup_is_unavailable(provider: SinchProvider, sinch: FakeSinch) -> None:
    sinch.on("GET", "/batches", answer(500))
    with pytest.raises(ProviderUnavailable):
        await provider.lookup("tc-batch-42", SINCE)


async def test_cancel_deletes_the_sinch_batch(provider: SinchProvider, sinch: FakeSinch) -> None:
    sinch.on("DELETE", "/batches/SINCH1", answer(200, batch_json(id="SINCH1", canceled=True)))
    await provider.cancel("SINCH1")
    assert [r.method for r in sinch.requests] == ["DELETE"]


async def test_cancelling_an_unknown_batch_is_rejected(
    provider: SinchProvider, sinch: FakeSinch
) -> None:
    with pytest.raises(ProviderRejected) as raised:
        await provider.cancel("NOPE")
    assert (raised.value.code, raised.value.status) == ("not_found", 404)


async def test_aclose_closes_the_client(provider: SinchProvider, sinch: FakeSinch) -> None:
    await provider.aclose()
    with pytest.raises(RuntimeError):
        await provider.submit(OUTBOUND)
