"""Webhook authentication: HTTP basic auth, a secret path token and the HMAC signature, each
alone and together, up to the real stack with the simulator posting through all of them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.factories import authorize, numbers
from tests.sending.stack import sending_stack
from tests.servers import free_port, serving

from textcast.config import SettingsError, load_settings
from textcast.db import Database
from textcast.models import ConsentEvent, InboundMessage, Message, WebhookEvent
from textcast.runtime import dispatcher_config
from textcast.simulator import SimulatorConfig
from textcast.sinch.callbacks import compute_signature
from textcast.web.app import create_app

USER = "sinch"
PASSWORD = "s3cret:with-a-colon"
BASIC_AUTH = f"{USER}:{PASSWORD}"
TOKEN = "Yq3vN8tWc2LxR7pKm5ZbJ4hGd9sFa6Ue"
SECRET = "hmac-secret"
DR_PATH = "/api/webhooks/delivery-reports"
INBOUND_PATH = "/api/webhooks/inbound"
REPORT = (
    b'{"at":"2025-01-13T09:22:40.914Z","batch_id":"01JHFFHQ0P99JPPNQPJDV7JTBP",'
    b'"code":0,"recipient":"33662162466","status":"Delivered",'
    b'"type":"recipient_delivery_report_sms"}'
)
INBOUND = json.dumps(
    {
        "type": "mo_text",
        "id": "01W4FFL35P4NC4K35SMSBATCH8",
        "from": "12015550100",
        "to": "12017777777",
        "body": "Hello there",
        "received_at": "2024-06-06T07:52:37.386Z",
    }
).encode()
FAST = {"queued_delay": 0.01, "dispatch_delay": 0.02, "final_delay": 0.1, "seed": 5}
SINCH_CREDENTIALS = {"sinch_service_plan_id": "a-real-plan", "sinch_api_token": "a-real-token"}


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(database_url: str) -> Iterator[MakeClient]:
    """The app over ASGI with the given settings."""
    with ExitStack() as stack:

        def make(**settings: Any) -> TestClient:
            config = load_settings(database_url=database_url, **settings)
            app = create_app(config, dispatch=False, simulator=False)
            return stack.enter_context(TestClient(app))

        yield make


def _stored(database_url: str) -> int:
    database = Database(database_url)
    with database.read() as session:
        count = session.scalar(select(func.count()).select_from(WebhookEvent)) or 0
    database.dispose()
    return count


def _signed(body: bytes, nonce: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "x-sinch-webhook-signature": compute_signature(SECRET, body, nonce, stamp),
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": stamp,
    }


def _keyword_from(phone: str, keyword: str) -> bytes:
    return json.dumps(
        {
            "type": "mo_text",
            "id": f"01FORGED{keyword}{phone}",
            "from": phone,
            "to": "12017777777",
            "body": keyword,
            "received_at": "2026-01-01T10:00:00.000Z",
        }
    ).encode()


def _rows(database_url: str, model: type[Any]) -> int:
    database = Database(database_url)
    with database.read() as session:
        count = session.scalar(select(func.count()).select_from(model)) or 0
    database.dispose()
    return count


def _basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {credentials}"}


def _assert_refused_basic_auth(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == 'Basic realm="textcast webhooks"'
    assert answer.json()["error"] == "invalid_credentials"


def test_right_basic_auth_is_stored(make_client: MakeClient, database_url: str) -> None:
    client = make_client(webhook_basic_auth=BASIC_AUTH)
    report = client.post(DR_PATH, content=REPORT, auth=(USER, PASSWORD))
    inbound = client.post(INBOUND_PATH, content=INBOUND, auth=(USER, PASSWORD))
    assert report.status_code == inbound.status_code == 200, (report.text, inbound.text)
    assert report.json() == inbound.json() == {"status": "stored"}
    assert _stored(database_url) == 2


def test_missing_or_wrong_basic_auth_is_401_and_stores_nothing(
    make_client: MakeClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(webhook_basic_auth=BASIC_AUTH)
    refused = [
        {},
        _basic(USER, "s3cret"),
        _basic("sinch2", PASSWORD),
        _basic("", ""),
        {"authorization": f"Bearer {PASSWORD}"},
        {"authorization": "Basic not-base64!"},
    ]
    for headers in refused:
        _assert_refused_basic_auth(client.post(DR_PATH, content=REPORT, headers=headers))
    _assert_refused_basic_auth(client.post(INBOUND_PATH, content=INBOUND))
    assert _stored(database_url) == 0
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "webhook refused: bad basic auth" in logged
    assert PASSWORD not in logged and "s3cret" not in logged


def test_right_path_token_is_stored(make_client: MakeClient, database_url: str) -> None:
    client = make_client(webhook_path_token=TOKEN)
    report = client.post(f"/api/webhooks/{TOKEN}/delivery-reports", content=REPORT)
    inbound = client.post(f"/api/webhooks/{TOKEN}/inbound", content=INBOUND)
    assert report.json() == inbound.json() == {"status": "stored"}
    assert _stored(database_url) == 2


def test_plain_paths_and_wrong_tokens_are_404_with_a_path_token(
    make_client: MakeClient, database_url: str
) -> None:
    client = make_client(webhook_path_token=TOKEN)
    wrong = [
        DR_PATH,
        INBOUND_PATH,
        f"/api/webhooks/{TOKEN[:-1]}X/delivery-reports",
        f"/api/webhooks/{TOKEN[:8]}/inbound",
        f"/api/webhooks/{TOKEN}/",
        f"/api/webhooks/{TOKEN}",
    ]
    for path in wrong:
        assert client.post(path, content=REPORT).status_code == 404, path
    assert _stored(database_url) == 0


def test_hmac_basic_auth_and_path_token_are_all_enforced(
    make_client: MakeClient, database_url: str
) -> None:
    client = make_client(
        sinch_webhook_secret=SECRET, webhook_basic_auth=BASIC_AUTH, webhook_path_token=TOKEN
    )
    path = f"/api/webhooks/{TOKEN}/delivery-reports"
    auth = _basic(USER, PASSWORD)
    unsigned = client.post(path, content=REPORT, headers=auth)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_signature"
    _assert_refused_basic_auth(client.post(path, content=REPORT, headers=_signed(REPORT, "N-1")))
    plain = client.post(DR_PATH, content=REPORT, headers={**auth, **_signed(REPORT, "N-2")})
    assert plain.status_code == 404
    assert _stored(database_url) == 0
    every = client.post(path, content=REPORT, headers={**auth, **_signed(REPORT, "N-3")})
    assert every.status_code == 200, every.text
    assert _stored(database_url) == 1


def test_callback_urls_carry_the_path_token_but_not_the_credentials() -> None:
    settings = load_settings(
        base_url="https://sms.example.com",
        webhook_path_token=TOKEN,
        webhook_basic_auth=BASIC_AUTH,
        secret_key="test-key",
    )
    url = dispatcher_config(settings).callback_url
    assert url == f"https://sms.example.com/api/webhooks/{TOKEN}/delivery-reports"
    plain = load_settings(base_url="https://sms.example.com", secret_key="test-key")
    assert dispatcher_config(plain).callback_url == "https://sms.example.com" + DR_PATH


def test_delivery_reports_arrive_through_basic_auth_and_a_path_token(database_url: str) -> None:
    simulator = SimulatorConfig(callback_basic_auth=(USER, PASSWORD), **FAST)  # type: ignore[arg-type]
    with sending_stack(
        database_url, simulator, webhook_basic_auth=BASIC_AUTH, webhook_path_token=TOKEN
    ) as stack:
        created = stack.api.post(
            "/api/v1/campaigns", json={"name": "auth", "body": "Hi!", "recipients": numbers(40)}
        ).json()
        assert stack.api.post(f"/api/v1/campaigns/{created['id']}/send").status_code == 202
        state = stack.wait_until_final(created["id"], timeout=60)
        stats = stack.simulator.stats()
    assert state["final"] == state["total"] == 40
    assert stats["callbacks"]["rejected"] == 0, stats


def _inject_inbound_and_read_inbox(api: httpx.Client, database_url: str) -> list[Any]:
    """As an admin: have the embedded simulator text us, then wait for the inbox to show it."""
    authorize(api, database_url)
    injected = api.post(
        "/simulator/_simulator/inbound",
        json={"from": "12015550100", "to": "12017777777", "body": "Hello there"},
    )
    assert injected.status_code == 201, injected.text
    deadline = time.monotonic() + 10
    while not (items := api.get("/api/v1/inbox").json()["items"]):
        assert time.monotonic() < deadline, "the inbound message never arrived"
        time.sleep(0.05)
    return list(items)


def test_the_embedded_simulator_posts_inbound_with_basic_auth_to_the_token_path(
    database_url: str,
) -> None:
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        webhook_basic_auth=BASIC_AUTH,
        webhook_path_token=TOKEN,
    )
    with (
        serving(create_app(settings, dispatch=False), port) as url,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        items = _inject_inbound_and_read_inbox(api, database_url)
    assert [(m["from_phone"], m["body"]) for m in items] == [("+12015550100", "Hello there")]


# -- Issue 12, item 1: with real Sinch credentials the webhooks are never anonymous ---------


@pytest.mark.parametrize(
    ("authentication", "refusal"),
    [
        ({"sinch_webhook_secret": SECRET}, 401),
        ({"webhook_basic_auth": BASIC_AUTH}, 401),
        ({"webhook_path_token": TOKEN}, 404),  # the plain path does not exist
    ],
    ids=["hmac", "basic-auth", "path-token"],
)
def test_forged_start_help_and_stop_are_refused_with_sinch_credentials(
    make_client: MakeClient, database_url: str, authentication: dict[str, str], refusal: int
) -> None:
    """The review's forgery: unsigned keywords from any number, to re-subscribe someone, opt
    them out, or make us text them (SMS pumping). None is stored, answered or texted."""
    client = make_client(**SINCH_CREDENTIALS, **authentication)
    for n, keyword in enumerate(("START", "HELP", "STOP")):
        answer = client.post(INBOUND_PATH, content=_keyword_from(f"1201555010{n}", keyword))
        assert answer.status_code == refusal, (keyword, answer.text)
    for model in (WebhookEvent, InboundMessage, ConsentEvent, Message):
        assert _rows(database_url, model) == 0, model.__name__


def test_sinch_credentials_without_webhook_authentication_refuse_to_start(
    database_url: str,
) -> None:
    settings = load_settings(database_url=database_url, secret_key="tests", **SINCH_CREDENTIALS)
    with pytest.raises(SettingsError) as refused:
        create_app(settings, dispatch=False, simulator=False)
    message = str(refused.value)
    for name in (
        "SINCH_WEBHOOK_SECRET",
        "WEBHOOK_BASIC_AUTH",
        "WEBHOOK_PATH_TOKEN",
        "WEBHOOKS_UNAUTHENTICATED=true",
    ):
        assert name in message
    assert "account manager" in message  # how the secret and basic auth are set up at Sinch
    assert "http://127.0.0.1:8000/api/webhooks/<token>/inbound" in message


def test_webhooks_unauthenticated_starts_anyway_with_a_warning_at_every_start(
    make_client: MakeClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):
        make_client(**SINCH_CREDENTIALS, webhooks_unauthenticated=True)
    warnings = [
        r
        for r in caplog.records
        if r.levelname == "WARNING" and "WEBHOOKS_UNAUTHENTICATED" in r.getMessage()
    ]
    assert len(warnings) == 2
    client = make_client(**SINCH_CREDENTIALS, webhooks_unauthenticated=True)
    answer = client.post(INBOUND_PATH, content=_keyword_from("12015550100", "HELP"))
    assert answer.status_code == 200, answer.text


# -- In simulator mode textcast signs and verifies on its own -----------------------------


def test_in_simulator_mode_unsigned_callbacks_are_refused(
    make_client: MakeClient, database_url: str
) -> None:
    client = make_client(secret_key="tests")
    for n, keyword in enumerate(("START", "HELP", "STOP")):
        answer = client.post(INBOUND_PATH, content=_keyword_from(f"1201555010{n}", keyword))
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_signature"
    assert _rows(database_url, WebhookEvent) == 0


def test_the_embedded_simulator_signs_what_the_webhooks_verify(database_url: str) -> None:
    """No webhook setting at all: the simulator's inbound arrives (signed with the secret
    derived from the instance secret), while the same body posted unsigned is refused."""
    port = free_port()
    settings = load_settings(
        database_url=database_url, base_url=f"http://127.0.0.1:{port}", port=port
    )
    with (
        serving(create_app(settings, dispatch=False), port) as url,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        forged = api.post(INBOUND_PATH, content=_keyword_from("12015550199", "Hello there"))
        assert forged.status_code == 401, forged.text
        items = _inject_inbound_and_read_inbox(api, database_url)
    assert [(m["from_phone"], m["body"]) for m in items] == [("+12015550100", "Hello there")]
