"""The xms request/response contract, driven in-process over ASGI."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.simulator.harness import AUTH, PLAN, fast_config

from textcast.simulator import SimulatorConfig, create_app

ISO_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

Scenario = Callable[[httpx.AsyncClient], Awaitable[None]]


@asynccontextmanager
async def client(config: SimulatorConfig | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config or fast_config())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http
    await app.state.simulator.stop()


def run(scenario: Scenario, config: SimulatorConfig | None = None) -> None:
    async def main() -> None:
        async with client(config) as http:
            await scenario(http)

    asyncio.run(main())


async def send(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    body.setdefault("to", ["+15551230001"])
    body.setdefault("body", "Hello")
    return await http.post(f"{PLAN}/batches", json=body, headers=AUTH)


def post_raw(path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    result: list[httpx.Response] = []

    async def scenario(http: httpx.AsyncClient) -> None:
        result.append(await http.post(f"{PLAN}{path}", content=content, headers=headers))

    run(scenario)
    return result[0]


def send_sync(**body: Any) -> httpx.Response:
    result: list[httpx.Response] = []

    async def scenario(http: httpx.AsyncClient) -> None:
        result.append(await send(http, **body))

    run(scenario)
    return result[0]


# -- auth and routing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"{PLAN}/batches", {}),
        (f"{PLAN}/batches", {"authorization": "Bearer wrong"}),
        ("/xms/v1/other-plan/batches", AUTH),
    ],
)
def test_rejects_bad_token_or_unknown_plan_with_401(path: str, headers: dict[str, str]) -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        response = await http.get(path, headers=headers)
        assert response.status_code == 401

    run(scenario)


def test_unknown_path_is_404_wrong_method_is_405_unknown_batch_is_404() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        assert (await http.get(f"{PLAN}/nothing", headers=AUTH)).status_code == 404
        assert (await http.patch(f"{PLAN}/batches", headers=AUTH)).status_code == 405
        missing = await http.get(f"{PLAN}/batches/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=AUTH)
        assert missing.status_code == 404

    run(scenario)


def test_non_json_content_type_is_415() -> None:
    response = post_raw("/batches", b"to=1", {**AUTH, "content-type": "text/plain"})
    assert response.status_code == 415


# -- validation ----------------------------------------------------------------------------


def test_invalid_json_is_syntax_invalid_json() -> None:
    response = post_raw("/batches", b"{not json", {**AUTH, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "syntax_invalid_json"


@pytest.mark.parametrize(
    "body",
    [
        {"to": []},
        {"to": [f"+1555{n:07d}" for n in range(1001)]},
        {"body": None},
    ],
    ids=["empty-to", "1001-recipients", "missing-body"],
)
def test_constraint_violations(body: dict[str, Any]) -> None:
    response = send_sync(**body)
    assert response.status_code == 400
    assert response.json()["code"] == "syntax_constraint_violation"
    assert response.json()["text"]


def test_accepts_exactly_1000_recipients() -> None:
    response = send_sync(to=[f"+1555{n:07d}" for n in range(1000)])
    assert response.status_code == 201
    assert len(response.json()["to"]) == 1000


def test_bad_msisdn_names_the_parameter_like_sinch() -> None:
    response = send_sync(to=["+15551230001", "+1"])
    assert response.status_code == 400
    assert response.json() == {
        "code": "syntax_invalid_parameter_format",
        "text": "The format of parameter 'to[1]' is invalid; value '+1' is not a valid MSISDN "
        "or group ID.",
    }


def test_bad_delivery_report_value_is_a_format_error() -> None:
    response = send_sync(delivery_report="sometimes", callback_url="http://x.test/cb")
    assert response.status_code == 400
    assert response.json()["code"] == "syntax_invalid_parameter_format"


def test_delivery_report_without_any_callback_url_is_403() -> None:
    response = send_sync(delivery_report="per_recipient")
    assert response.status_code == 403
    assert response.json() == {
        "code": "missing_callback_url",
        "text": "Requesting delivery report without any callback URL.",
    }


def test_default_callback_url_satisfies_delivery_report() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        response = await send(http, delivery_report="summary")
        assert response.status_code == 201

    run(scenario, fast_config(default_callback_url="http://127.0.0.1:9/never"))


OWN_CALLBACK = "http://127.0.0.1:8000/api/webhooks/delivery-reports"


def test_callback_urls_outside_the_allowed_ones_are_refused_on_send_update_and_replace() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        foreign = "http://169.254.169.254/latest/meta-data"
        refused = await send(http, delivery_report="per_recipient", callback_url=foreign)
        assert refused.status_code == 400
        assert refused.json() == {
            "code": "syntax_invalid_parameter_format",
            "text": f"The parameter 'callback_url' is invalid; value '{foreign}' is not one of "
            "the callback URLs configured for this service plan.",
        }
        own = await send(http, delivery_report="per_recipient", callback_url=OWN_CALLBACK)
        defaulted = await send(http, delivery_report="per_recipient")
        assert (own.status_code, defaulted.status_code) == (201, 201)
        url = f"{PLAN}/batches/{own.json()['id']}"
        updated = await http.post(url, json={"callback_url": foreign}, headers=AUTH)
        replaced = await http.put(
            url, json={"to": ["+15551230001"], "body": "Hi", "callback_url": foreign}, headers=AUTH
        )
        assert (updated.status_code, replaced.status_code) == (400, 400)
        ledger = (await http.get("/_simulator/ledger")).json()
        assert ledger["batches"] == 2

    allowed = frozenset({OWN_CALLBACK})
    run(scenario, fast_config(default_callback_url=OWN_CALLBACK, allowed_callback_urls=allowed))


def test_without_an_allow_list_any_callback_url_is_taken_as_sinch_does() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        elsewhere = "https://hooks.example.com/sinch"
        response = await send(http, delivery_report="per_recipient", callback_url=elsewhere)
        assert response.status_code == 201
        assert response.json()["callback_url"] == elsewhere

    run(scenario)


@pytest.mark.parametrize(
    ("send_in", "expire_in"),
    [(timedelta(hours=2), timedelta(hours=1)), (timedelta(0), timedelta(days=3, hours=1))],
    ids=["expire-before-send", "beyond-three-days"],
)
def test_schedule_rules(send_in: timedelta, expire_in: timedelta) -> None:
    now = datetime.now().astimezone()
    response = send_sync(
        send_at=(now + send_in).isoformat(), expire_at=(now + expire_in).isoformat()
    )
    assert response.status_code == 400
    assert response.json()["code"] == "syntax_constraint_violation"


# -- the batch object ----------------------------------------------------------------------


def test_batch_echoes_request_without_plus_and_adds_server_fields() -> None:
    response = send_sync(
        to=["+15551230001", "15551230002"],
        body="Hi",
        client_reference="ref-1",
        **{"from": "+15550000000"},
    )
    assert response.status_code == 201
    batch = response.json()
    assert batch["to"] == ["15551230001", "15551230002"]
    assert batch["from"] == "15550000000"
    assert batch["client_reference"] == "ref-1"
    assert batch["canceled"] is False
    assert batch["type"] == "mt_text"
    assert re.fullmatch(r"[0-9A-Z]{26}", batch["id"])
    for name in ("created_at", "modified_at", "expire_at"):
        assert ISO_MILLIS.fullmatch(batch[name]), name
    created = datetime.fromisoformat(batch["created_at"])
    assert datetime.fromisoformat(batch["expire_at"]) - created == timedelta(days=3)


def test_get_batch_returns_the_same_object() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        sent = (await send(http)).json()
        fetched = await http.get(f"{PLAN}/batches/{sent['id']}", headers=AUTH)
        assert fetched.status_code == 200
        assert fetched.json() == sent

    run(scenario)


# -- parameters ----------------------------------------------------------------------------


def test_parameters_substitute_per_recipient_and_unmatched_recipient_is_aborted_405() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        body = {
            "to": ["+15551230001", "+15551230002", "+15551230003"],
            "body": "Hi ${name}, code ${code}",
            "parameters": {
                "name": {"+15551230001": "Ann", "15551230002": "Bob"},
                "code": {"default": "X"},
            },
        }
        dry = await http.post(f"{PLAN}/batches/dry_run?per_recipient=true", json=body, headers=AUTH)
        assert dry.status_code == 200
        bodies = {r["recipient"]: r["body"] for r in dry.json()["per_recipient"]}
        assert bodies == {"15551230001": "Hi Ann, code X", "15551230002": "Hi Bob, code X"}

        batch = (await http.post(f"{PLAN}/batches", json=body, headers=AUTH)).json()
        await asyncio.sleep(0.3)
        report = await http.get(
            f"{PLAN}/batches/{batch['id']}/delivery_report?type=full", headers=AUTH
        )
        statuses = {(s["code"], s["status"]): s["recipients"] for s in report.json()["statuses"]}
        assert statuses == {
            (0, "Delivered"): ["15551230001", "15551230002"],
            (405, "Aborted"): ["15551230003"],
        }

    run(scenario)


# -- dry run -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts", "encoding"),
    [
        ("a" * 160, 1, "text"),
        ("a" * 161, 2, "text"),
        ("a" * 306, 2, "text"),
        ("a" * 307, 3, "text"),
        ("€" * 80, 1, "text"),  # extension characters count twice: 160 septets
        ("€" * 80 + "a", 2, "text"),
        ("Δ{}[]~\\^|" + "a" * 143, 1, "text"),  # 1 + 8 * 2 + 143 = 160
        ("ж" * 70, 1, "unicode"),
        ("ж" * 71, 2, "unicode"),
        ("ж" * 134, 2, "unicode"),
        ("ж" * 135, 3, "unicode"),
        ("😀" * 35, 1, "unicode"),  # 70 UTF-16 units
        ("😀" * 36, 2, "unicode"),
        ("Chávez", 1, "unicode"),
    ],
)
def test_dry_run_counts_parts_like_sinch(text: str, parts: int, encoding: str) -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        response = await http.post(
            f"{PLAN}/batches/dry_run",
            params={"per_recipient": "True"},
            json={"to": ["+15551230001", "+15551230002"], "body": text},
            headers=AUTH,
        )
        assert response.status_code == 200
        result = response.json()
        assert result["number_of_recipients"] == 2
        assert result["number_of_messages"] == 2 * parts
        first = result["per_recipient"][0]
        assert first == {
            "recipient": "15551230001",
            "number_of_parts": parts,
            "body": text,
            "encoding": encoding,
        }

    run(scenario)


def test_dry_run_rejects_a_bad_boolean_and_omits_details_unless_asked() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        body = {"to": ["+15551230001"], "body": "x"}
        bad = await http.post(f"{PLAN}/batches/dry_run?per_recipient=tru", json=body, headers=AUTH)
        assert bad.status_code == 400
        assert bad.json()["code"] == "syntax_invalid_parameter_format"
        plain = await http.post(f"{PLAN}/batches/dry_run", json=body, headers=AUTH)
        assert plain.json() == {"number_of_recipients": 1, "number_of_messages": 1}
        one = await http.post(
            f"{PLAN}/batches/dry_run?per_recipient=1&number_of_recipients=1",
            json={"to": ["+15551230001", "+15551230002"], "body": "x"},
            headers=AUTH,
        )
        assert len(one.json()["per_recipient"]) == 1

    run(scenario)


# -- listing -------------------------------------------------------------------------------


def test_list_filters_by_client_reference_and_pages_newest_first() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        ids = [(await send(http, client_reference="wanted")).json()["id"] for _ in range(5)]
        await send(http, client_reference="other")
        first = await http.get(
            f"{PLAN}/batches",
            params={"client_reference": "wanted", "page": 0, "page_size": 2},
            headers=AUTH,
        )
        assert first.json()["count"] == 5
        assert first.json()["page_size"] == 2
        assert [b["id"] for b in first.json()["batches"]] == ids[::-1][:2]
        last = await http.get(
            f"{PLAN}/batches",
            params={"client_reference": "wanted", "page": 2, "page_size": 2},
            headers=AUTH,
        )
        assert [b["id"] for b in last.json()["batches"]] == ids[:1]
        beyond = await http.get(
            f"{PLAN}/batches",
            params={"client_reference": "wanted", "page": 3, "page_size": 2},
            headers=AUTH,
        )
        assert beyond.json() == {"count": 5, "page": 3, "page_size": 0, "batches": []}
        everything = await http.get(f"{PLAN}/batches", headers=AUTH)
        assert everything.json()["count"] == 6
        too_big = await http.get(f"{PLAN}/batches?page_size=101", headers=AUTH)
        assert too_big.status_code == 400

    run(scenario)


# -- cancel and reports --------------------------------------------------------------------


def test_cancel_marks_undispatched_recipients_cancelled_407() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        batch = (await send(http, to=[f"+1555123{n:04d}" for n in range(50)])).json()
        await asyncio.sleep(0.2)  # a handful leave the queue at 20/s
        cancelled = await http.delete(f"{PLAN}/batches/{batch['id']}", headers=AUTH)
        assert cancelled.status_code == 200
        assert cancelled.json()["canceled"] is True
        await asyncio.sleep(0.1)
        report = (
            await http.get(f"{PLAN}/batches/{batch['id']}/delivery_report", headers=AUTH)
        ).json()
        counts = {s["status"]: s["count"] for s in report["statuses"]}
        assert counts.get("Cancelled", 0) >= 40
        assert sum(counts.values()) == report["total_message_count"] == 50
        assert {s["code"] for s in report["statuses"] if s["status"] == "Cancelled"} == {407}
        one = await http.get(
            f"{PLAN}/batches/{batch['id']}/delivery_report/+15551230049", headers=AUTH
        )
        assert one.json()["status"] == "Cancelled"
        assert one.json()["code"] == 407

    run(scenario, fast_config(rate=20))


def test_delivery_report_filters_and_errors() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        batch = (await send(http, to=["+15551230001", "+15551230002"])).json()
        url = f"{PLAN}/batches/{batch['id']}/delivery_report"
        await asyncio.sleep(0.3)
        bad = await http.get(url, params={"type": "report"}, headers=AUTH)
        assert bad.status_code == 400
        assert bad.json()["text"] == "'report' is not a valid report type"
        summary = (await http.get(url, headers=AUTH)).json()
        assert summary["statuses"] == [{"code": 0, "status": "Delivered", "count": 2}]
        none = (await http.get(url, params={"status": "Failed"}, headers=AUTH)).json()
        assert none["statuses"] == []
        by_code = (await http.get(url, params={"code": "0", "type": "full"}, headers=AUTH)).json()
        assert by_code["statuses"][0]["recipients"] == ["15551230001", "15551230002"]
        stranger = await http.get(f"{url}/15559999999", headers=AUTH)
        assert stranger.status_code == 404
        listed = (await http.get(f"{PLAN}/delivery_reports", headers=AUTH)).json()
        assert listed["count"] == 2
        assert {r["recipient"] for r in listed["delivery_reports"]} == {
            "15551230001",
            "15551230002",
        }

    run(scenario)


def test_scheduled_batch_has_an_empty_report_until_due() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        later = (datetime.now().astimezone() + timedelta(hours=1)).isoformat()
        batch = (await send(http, send_at=later)).json()
        report = await http.get(f"{PLAN}/batches/{batch['id']}/delivery_report", headers=AUTH)
        assert report.json()["statuses"] == []
        assert "send_at" in batch

    run(scenario)


def test_update_before_sending_changes_recipients() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        later = (datetime.now().astimezone() + timedelta(hours=1)).isoformat()
        batch = (await send(http, send_at=later, to=["+15551230001", "+15551230002"])).json()
        updated = await http.post(
            f"{PLAN}/batches/{batch['id']}",
            json={"to_add": ["+15551230003"], "to_remove": ["+15551230001"], "body": "New"},
            headers=AUTH,
        )
        assert updated.status_code == 200
        assert updated.json()["to"] == ["15551230002", "15551230003"]
        assert updated.json()["body"] == "New"
        assert updated.json()["id"] == batch["id"]
        ledger = (await http.get("/_simulator/ledger?full=1")).json()
        assert ledger["recipients"] == {"15551230002": 1, "15551230003": 1}

    run(scenario)


def test_update_after_sending_may_not_change_recipients_but_may_change_metadata() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        batch = (await send(http, to=["+15551230001"])).json()
        url = f"{PLAN}/batches/{batch['id']}"
        refused = await http.post(url, json={"to_add": ["+15551230002"]}, headers=AUTH)
        assert refused.status_code == 400
        assert refused.json()["code"] == "syntax_constraint_violation"
        renamed = await http.post(url, json={"client_reference": "renamed"}, headers=AUTH)
        assert renamed.status_code == 200
        assert renamed.json()["client_reference"] == "renamed"
        found = await http.get(f"{PLAN}/batches?client_reference=renamed", headers=AUTH)
        assert found.json()["count"] == 1

    run(scenario)


def test_a_batch_is_sent_from_the_moment_it_is_accepted() -> None:
    # The creation time is shown in whole milliseconds; rounding it up once put the send time
    # in the future, so an update a fraction of a millisecond later could still change recipients.
    async def scenario() -> None:
        app = create_app(fast_config())
        state = app.state.simulator
        try:
            for n in range(40):
                batch = state.accept(state.parse({"to": [f"+1555123{n:04d}"], "body": "Hi"}))
                assert batch.created_at <= state.clock()
                assert batch.delivery.visible(state.clock())
        finally:
            await state.stop()

    asyncio.run(scenario())


def test_replace_cancels_what_was_queued_and_sends_the_new_batch() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        batch = (await send(http, to=[f"+1555123{n:04d}" for n in range(20)])).json()
        replaced = await http.put(
            f"{PLAN}/batches/{batch['id']}",
            json={"to": ["+15559990001"], "body": "Replacement"},
            headers=AUTH,
        )
        assert replaced.status_code == 200
        assert replaced.json()["id"] == batch["id"]
        assert replaced.json()["to"] == ["15559990001"]
        assert replaced.json()["body"] == "Replacement"
        await asyncio.sleep(0.4)
        report = await http.get(f"{PLAN}/batches/{batch['id']}/delivery_report", headers=AUTH)
        assert report.json()["statuses"] == [{"code": 0, "status": "Delivered", "count": 1}]

    run(scenario, fast_config(rate=5))


def test_group_ids_are_unknown_groups() -> None:
    response = send_sync(to=["01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    assert response.status_code == 403
    assert response.json()["code"] == "unknown_group"


def test_max_parts_aborts_long_messages_with_411() -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        batch = (await send(http, body="a" * 200, max_number_of_message_parts=1)).json()
        await asyncio.sleep(0.3)
        report = await http.get(
            f"{PLAN}/batches/{batch['id']}/delivery_report/15551230001", headers=AUTH
        )
        assert (report.json()["code"], report.json()["status"]) == (411, "Aborted")
        assert report.json()["number_of_message_parts"] == 2

    run(scenario)


def test_a_thousand_recipient_send_takes_milliseconds() -> None:
    state = create_app(fast_config()).state.simulator
    body = {
        "to": [f"+1555{n:07d}" for n in range(1000)],
        "body": "Hi ${n}",
        "parameters": {"n": {"default": "there"}},
    }
    started = time.perf_counter()
    for _ in range(20):
        state.accept(state.parse(body))
    per_batch = (time.perf_counter() - started) / 20
    assert per_batch < 0.02  # about 0.5 ms on a laptop; generous for slow CI machines
    assert state.ledger_report().accepted_recipients == 20_000
