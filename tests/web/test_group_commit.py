import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select, text
from tests.factories import claim_batch, make_campaign, numbers
from tests.servers import free_port, serving
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import Settings, load_settings
from textcast.db import Database
from textcast.domain import inbox, outbox
from textcast.domain.inbox.keywords import Keyword
from textcast.models import (
    Campaign,
    Contact,
    ContactStatus,
    InboundMessage,
    Message,
    MessageStatus,
    WebhookEvent,
)
from textcast.web.app import create_app

DR_PATH = "/api/webhooks/delivery-reports"
SINCH_BATCH_ID = "01SINCHBATCH"


def _sent_batch(database: Database, count: int) -> outbox.ClaimedBatch:
    campaign = make_campaign(database, numbers(count), launch=True)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, b"test-key")
        assert batch is not None
        outbox.record_accepted(session, batch.id, SINCH_BATCH_ID)
    return batch


def _report(phone: str, status: str = "Delivered") -> bytes:
    return json.dumps(
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": SINCH_BATCH_ID,
            "recipient": phone.removeprefix("+"),
            "code": 0,
            "status": status,
            "at": "2026-01-01T10:00:00.000Z",
        }
    ).encode()


def _post_all(
    url: str, settings: Settings, bodies: list[bytes], path: str = DR_PATH
) -> list[httpx.Response]:
    """32 at a time, as Sinch would: 32 connections, one per sender thread, each signed."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def post(body: bytes) -> httpx.Response:
        # One client (and keep-alive connection) per thread: a pool shared by 32 threads can
        # hand a connection the server is closing to another thread mid-read.
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=30)
            clients.append(local.client)
        headers = signed_by_sinch(settings, body)
        response: httpx.Response = local.client.post(path, content=body, headers=headers)
        return response

    try:
        with ThreadPoolExecutor(32) as pool:
            return list(pool.map(post, bodies))
    finally:
        for client in clients:
            client.close()


def _count(database: Database, statement: object) -> int:
    with database.read() as session:
        return session.scalar(statement) or 0  # type: ignore[call-overload]


def _stored_events(database: Database) -> int:
    return _count(database, select(func.count()).select_from(WebhookEvent))


def _delivered(database: Database) -> int:
    return _count(
        database,
        select(func.count()).select_from(Message).where(Message.status == MessageStatus.DELIVERED),
    )


@contextmanager
def _holding_the_write_lock(database: Database, seconds: float) -> Iterator[None]:
    """Another writer in the middle of a long transaction, for `seconds`."""
    started = threading.Event()

    def hold() -> None:
        with database.write() as session:
            if not database.is_sqlite:  # PostgreSQL has no database-wide write lock
                session.execute(text("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE"))
            started.set()
            time.sleep(seconds)

    holder = threading.Thread(target=hold)
    holder.start()
    started.wait()
    try:
        yield
    finally:
        holder.join()


def test_concurrent_callbacks_are_each_answered_after_being_stored(
    database_url: str, database: Database
) -> None:
    batch = _sent_batch(database, 300)
    settings = load_settings(database_url=database_url)
    app = create_app(settings, dispatch=False, simulator=False)
    with serving(app) as url:
        answers = _post_all(url, settings, [_report(phone) for phone in batch.recipients])
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"status": "stored"})] * 300
    assert _stored_events(database) == 300
    assert _delivered(database) == 300


def test_a_callback_waits_for_another_writer_instead_of_failing(
    database_url: str, database: Database
) -> None:
    batch = _sent_batch(database, 1)
    settings = load_settings(database_url=database_url)
    app = create_app(settings, dispatch=False, simulator=False)
    body = _report(batch.recipients[0])
    with serving(app) as url, _holding_the_write_lock(database, 0.5):
        started = time.monotonic()
        answer = httpx.post(
            url + DR_PATH, content=body, headers=signed_by_sinch(settings, body), timeout=30
        )
        waited = time.monotonic() - started
    assert answer.json() == {"status": "stored"}
    assert waited > 0.3
    assert _delivered(database) == 1


def test_storage_blocked_longer_than_the_timeout_is_503_and_the_retry_is_stored(
    database_url: str, database: Database
) -> None:
    batch = _sent_batch(database, 1)
    body = _report(batch.recipients[0])
    settings = load_settings(database_url=database_url)
    app = create_app(settings, dispatch=False, simulator=False)
    with serving(app) as url:
        app.state.runtime.committer.timeout = 0.3
        with _holding_the_write_lock(database, 1.5):
            blocked = httpx.post(
                url + DR_PATH, content=body, headers=signed_by_sinch(settings, body), timeout=30
            )
        retry = httpx.post(
            url + DR_PATH, content=body, headers=signed_by_sinch(settings, body), timeout=30
        )
    assert blocked.status_code == 503
    assert blocked.json()["error"] == "storage_unavailable"
    # PostgreSQL may still have stored the first attempt once the lock went away.
    assert retry.json()["status"] in {"stored", "duplicate"}
    assert _stored_events(database) == 1


def test_serve_workers_share_the_port_and_store_every_callback(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    """In simulator mode each worker verifies signatures with the secret derived from the
    instance secret: the same in every process, whichever one a callback reaches."""
    batch = _sent_batch(database, 400)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port)}
    env["SECRET_KEY_FILE"] = str(tmp_path / "instance-secret")
    # The signer reads the instance secret file the server made, as a second process would.
    signer = load_settings(database_url=database_url, secret_key_file=env["SECRET_KEY_FILE"])
    command = [sys.executable, "-m", "textcast", "serve", "--no-dispatcher", "--workers", "2"]
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, server)
        workers = [
            child
            for child in psutil.Process(server.pid).children()
            if "spawn_main" in " ".join(child.cmdline())  # not multiprocessing's helper
        ]
        assert len(workers) == 2
        answers = _post_all(url, signer, [_report(phone) for phone in batch.recipients])
    finally:
        server.terminate()
        server.wait(30)
    assert [a.json() for a in answers] == [{"status": "stored"}] * 400
    assert _stored_events(database) == 400
    assert _delivered(database) == 400
    assert server.returncode == 0


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "textcast serve exited"
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("textcast serve did not start")


INBOUND_PATH = "/api/webhooks/inbound"
# Numbers Sinch may pass on but no one can text: too short, no country, unknown country code.
UNTEXTABLE = ("1234", "1", "999123456789", "12")


def test_keywords_from_numbers_no_one_can_text_fail_no_neighbour_and_are_kept_as_inapplicable(
    database_url: str, database: Database
) -> None:
    valid = numbers(60)
    bodies = [
        inbound_callback(i, phone, ("STOP", "HELP", "Hello")[i % 3])
        for i, phone in enumerate(valid)
    ]
    bad = [
        inbound_callback(100 + i, UNTEXTABLE[i % 4], ("STOP", "START")[i % 2]) for i in range(40)
    ]
    burst = [body for pair in zip(bodies, bad, strict=False) for body in pair] + bodies[40:]
    settings = load_settings(database_url=database_url)
    app = create_app(settings, dispatch=False, simulator=False)
    with serving(app) as url:
        answers = _post_all(url, settings, burst, INBOUND_PATH)
    by_status = sorted({(a.status_code, a.json()["status"]) for a in answers})
    assert by_status == [(200, "inapplicable"), (200, "stored")]
    with database.read() as session:
        events = session.scalars(select(WebhookEvent)).all()
        applied = session.execute(
            select(InboundMessage.from_phone, InboundMessage.keyword).where(
                InboundMessage.from_phone.in_(valid)
            )
        ).all()
        opted_out = session.scalars(
            select(Contact.phone).where(Contact.status == ContactStatus.UNSUBSCRIBED)
        ).all()
        replies = _count(
            database, select(func.count()).select_from(Campaign).where(Campaign.kind == "reply")
        )
        pending = inbox.unprocessed_events(session)
    assert len(events) == 100
    inapplicable = [e for e in events if e.inapplicable]
    assert len(inapplicable) == 40
    assert all("cannot receive texts" in e.inapplicable for e in inapplicable if e.inapplicable)
    assert sorted(applied) == sorted(
        (phone, (Keyword.OPT_OUT, Keyword.HELP, None)[i % 3]) for i, phone in enumerate(valid)
    )
    assert sorted(opted_out) == sorted(valid[0::3])
    assert replies == 40  # a STOP confirmation and a HELP answer to each valid sender
    assert pending == []  # nothing left for the sweeper to retry forever


def test_callbacks_with_fields_too_long_to_store_are_refused_alone(
    database_url: str, database: Database
) -> None:
    batch = _sent_batch(database, 30)
    reports = [_report(phone) for phone in batch.recipients]
    long_status = json.loads(_report(batch.recipients[0]))
    long_status.update(status="Delivered" * 30, at="2026-01-01T11:00:00.000Z")
    huge_code = json.loads(_report(batch.recipients[1]))
    huge_code.update(code=2**40, at="2026-01-01T12:00:00.000Z")  # past the column's integer
    inbounds = [
        inbound_callback(i, phone, "Hello") for i, phone in enumerate(numbers(30, start=500))
    ]
    too_long = [
        inbound_callback(900, "1" * 20, "Hello"),  # longer than any phone number (15 digits)
        inbound_callback(901, numbers(1)[0], "Hello").replace(b"01MO", b"01MO" + b"9" * 70),
        inbound_callback(902, numbers(1)[0], "Hello").replace(b"12017777777", b"1" * 40),
    ]
    settings = load_settings(database_url=database_url)
    app = create_app(settings, dispatch=False, simulator=False)
    with serving(app) as url, ThreadPoolExecutor(2) as pool:
        stored_reports = pool.submit(
            _post_all,
            url,
            settings,
            [json.dumps(huge_code).encode(), *reports, json.dumps(long_status).encode()],
        )
        stored_inbounds = pool.submit(
            _post_all, url, settings, [*too_long, *inbounds], INBOUND_PATH
        )
        report_answers, inbound_answers = stored_reports.result(), stored_inbounds.result()
    assert [a.status_code for a in report_answers] == [400] + [200] * 31
    assert report_answers[0].json()["message"].startswith("code: ")
    assert [a.status_code for a in inbound_answers] == [400] * 3 + [200] * 30
    assert [a.json()["message"].split(":")[0] for a in inbound_answers[:3]] == ["from", "id", "to"]
    assert _stored_events(database) == 61
    assert _delivered(database) == 30
