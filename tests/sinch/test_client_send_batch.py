"""POST /batches is not idempotent: these are the rules that keep anyone from being texted twice."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.sinch.wire import FakeSinch, Sleeps, answer, batch_json, fail, page_json

from textcast.sinch.client import LOOKUP_MARGIN, SinchClient
from textcast.sinch.errors import (
    SinchBadRequest,
    SinchConnectError,
    SinchError,
    SinchForbidden,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchUnauthorized,
    SinchUnknownOutcome,
)
from textcast.sinch.models import BatchRequest

pytestmark = pytest.mark.anyio

REFERENCE = "tc-batch-42"
WITH_REFERENCE = BatchRequest(to=["+12017777777"], body="Hello", client_reference=REFERENCE)
WITHOUT_REFERENCE = BatchRequest(to=["+12017777777"], body="Hello")
CREATED = answer(201, batch_json(client_reference=REFERENCE))
FOUND = answer(200, page_json([batch_json(id="FOUND", client_reference=REFERENCE)]))
NOT_FOUND = answer(200, page_json([]))
NO_ANSWER = [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteTimeout]


def posts(sinch: FakeSinch) -> list[httpx.Request]:
    return sinch.calls("POST", "/batches")


def lookups(sinch: FakeSinch) -> list[httpx.Request]:
    return sinch.calls("GET", "/batches")


async def test_sends_the_batch_as_sinch_expects_it(client: SinchClient, sinch: FakeSinch) -> None:
    sinch.on("POST", "/batches", CREATED)
    request = BatchRequest(
        to=["+12017777777", "+33612345678"],
        body="Hi ${name}",
        from_="+12015555555",
        parameters={"name": {"+12017777777": "Ann", "default": "there"}},
        delivery_report="per_recipient_final",
        callback_url="https://example.test/api/webhooks/delivery-reports",
        client_reference=REFERENCE,
        send_at=datetime(2025, 1, 13, 10, 0, tzinfo=UTC),
    )
    batch = await client.send_batch(request)
    (sent,) = sinch.requests
    assert sent.headers["content-type"] == "application/json"
    assert FakeSinch.body(sent) == {
        "to": ["+12017777777", "+33612345678"],
        "body": "Hi ${name}",
        "from": "+12015555555",
        "parameters": {"name": {"+12017777777": "Ann", "default": "there"}},
        "delivery_report": "per_recipient_final",
        "callback_url": "https://example.test/api/webhooks/delivery-reports",
        "client_reference": REFERENCE,
        "send_at": "2025-01-13T10:00:00Z",
    }
    assert batch.id == "01W4FFL35P4NC4K35SMSBATCH1"


async def test_retries_a_429_after_the_wait_sinch_asks_for(
    client: SinchClient, sinch: FakeSinch, sleeps: Sleeps
) -> None:
    sinch.on("POST", "/batches", answer(429, headers={"Retry-After": "7"}), CREATED)
    await client.send_batch(WITH_REFERENCE)
    assert sleeps.waits == [7.0]
    assert len(posts(sinch)) == 2
    assert lookups(sinch) == []  # a 429 was not processed: nothing to look up


async def test_gives_up_at_once_when_sinch_asks_for_a_wait_beyond_the_cap(
    client: SinchClient, sinch: FakeSinch, sleeps: Sleeps
) -> None:
    sinch.on("POST", "/batches", answer(429, headers={"Retry-After": "120"}))
    with pytest.raises(SinchRateLimited) as raised:
        await client.send_batch(WITH_REFERENCE)
    assert raised.value.retry_after == 120.0
    assert sleeps.waits == []
    assert len(posts(sinch)) == 1


async def test_rate_limited_on_every_attempt_raises_rate_limited(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=2)
    sinch.on("POST", "/batches", answer(429))
    with pytest.raises(SinchRateLimited):
        await client.send_batch(WITH_REFERENCE)
    assert len(posts(sinch)) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, SinchBadRequest),
        (401, SinchUnauthorized),
        (403, SinchForbidden),
        (404, SinchNotFound),
    ],
)
async def test_never_retries_a_400_401_403_or_404(
    client: SinchClient, sinch: FakeSinch, status: int, error: type[SinchError]
) -> None:
    sinch.on("POST", "/batches", answer(status, {"code": "some_code", "text": "no"}))
    with pytest.raises(error) as raised:
        await client.send_batch(WITH_REFERENCE)
    assert (raised.value.status, raised.value.code, raised.value.text) == (
        status,
        "some_code",
        "no",
    )
    assert len(sinch.requests) == 1


async def test_a_failed_connect_is_retried_because_nothing_was_sent(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ConnectError), fail(httpx.ConnectTimeout), CREATED)
    await client.send_batch(WITH_REFERENCE)
    assert len(posts(sinch)) == 3
    assert lookups(sinch) == []


async def test_connect_errors_on_every_attempt_say_nothing_was_sent(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=1)
    sinch.on("POST", "/batches", fail(httpx.ConnectError))
    with pytest.raises(SinchConnectError):
        await client.send_batch(WITHOUT_REFERENCE)
    assert len(posts(sinch)) == 2


@pytest.mark.parametrize("failure", NO_ANSWER)
async def test_a_lost_answer_is_looked_up_and_found_batches_are_not_resent(
    client: SinchClient, sinch: FakeSinch, sleeps: Sleeps, failure: type[httpx.TransportError]
) -> None:
    sinch.on("POST", "/batches", fail(failure))
    sinch.on("GET", "/batches", FOUND)
    batch = await client.send_batch(WITH_REFERENCE)
    assert batch.id == "FOUND"
    assert len(posts(sinch)) == 1
    (lookup,) = lookups(sinch)
    assert lookup.url.params["client_reference"] == REFERENCE
    assert len(sleeps.waits) == 1  # Sinch gets a moment to finish creating it first


async def test_a_lost_answer_is_resent_when_sinch_does_not_have_the_batch(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ReadTimeout), CREATED)
    sinch.on("GET", "/batches", NOT_FOUND)
    await client.send_batch(WITH_REFERENCE)
    assert [r.method for r in sinch.requests] == ["POST", "GET", "POST"]


async def test_the_lookup_window_opens_before_the_first_attempt(
    client: SinchClient, sinch: FakeSinch
) -> None:
    timed_out = fail(httpx.ReadTimeout)
    first_attempt: list[datetime] = []

    def time_the_attempt(request: httpx.Request) -> httpx.Response:
        first_attempt.append(datetime.now(UTC))
        return timed_out(request)

    sinch.on("POST", "/batches", time_the_attempt)
    sinch.on("GET", "/batches", FOUND)
    before = datetime.now(UTC)
    await client.send_batch(WITH_REFERENCE)
    start = datetime.fromisoformat(lookups(sinch)[0].url.params["start_date"])
    # The wire carries milliseconds, truncated: allow one below the instant the call began.
    assert before - LOOKUP_MARGIN - timedelta(milliseconds=1) <= start
    assert start <= first_attempt[0] - LOOKUP_MARGIN


async def test_a_5xx_with_a_reference_is_looked_up_before_resending(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(500))
    sinch.on("GET", "/batches", FOUND)
    assert (await client.send_batch(WITH_REFERENCE)).id == "FOUND"
    assert len(posts(sinch)) == 1


async def test_a_5xx_then_success_without_a_reference_sends_again(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(500), answer(503), CREATED)
    await client.send_batch(WITHOUT_REFERENCE)
    assert len(posts(sinch)) == 3
    assert lookups(sinch) == []


async def test_5xx_on_the_last_attempt_without_a_reference_is_a_server_error(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=2)
    sinch.on("POST", "/batches", answer(500, {"code": "internal", "text": "oops"}))
    with pytest.raises(SinchServerError, match="oops"):
        await client.send_batch(WITHOUT_REFERENCE)
    assert len(posts(sinch)) == 3


async def test_5xx_on_the_last_attempt_with_nothing_found_is_a_server_error(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=1)
    sinch.on("POST", "/batches", answer(502))
    sinch.on("GET", "/batches", NOT_FOUND)
    with pytest.raises(SinchServerError):
        await client.send_batch(WITH_REFERENCE)
    assert [r.method for r in sinch.requests] == ["POST", "GET", "POST", "GET"]


async def test_a_lost_answer_without_a_reference_is_an_unknown_outcome(
    client: SinchClient, sinch: FakeSinch, sleeps: Sleeps
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ReadTimeout))
    with pytest.raises(SinchUnknownOutcome):
        await client.send_batch(WITHOUT_REFERENCE)
    assert len(sinch.requests) == 1
    assert sleeps.waits == []


async def test_a_failed_lookup_makes_the_outcome_unknown(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", fail(httpx.ReadTimeout))
    sinch.on("GET", "/batches", answer(401))
    with pytest.raises(SinchUnknownOutcome, match="lookup"):
        await client.send_batch(WITH_REFERENCE)
    assert len(posts(sinch)) == 1


async def test_lost_answers_on_every_attempt_end_as_unknown_not_failed(
    connect: Callable[..., SinchClient], sinch: FakeSinch
) -> None:
    client = connect(max_retries=1)
    sinch.on("POST", "/batches", fail(httpx.ReadTimeout))
    sinch.on("GET", "/batches", NOT_FOUND)
    with pytest.raises(SinchUnknownOutcome):
        await client.send_batch(WITH_REFERENCE)
    assert len(posts(sinch)) == 2


async def test_an_unreadable_201_is_an_unknown_outcome(
    client: SinchClient, sinch: FakeSinch
) -> None:
    sinch.on("POST", "/batches", answer(201, b"<html>ok</html>"))
    with pytest.raises(SinchUnknownOutcome, match="not JSON"):
        await client.send_batch(WITH_REFERENCE)
    assert len(sinch.requests) == 1
