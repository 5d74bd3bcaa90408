"""/contacts, a contact's page, CSV imports, lists and segments: what people see and can do."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.factories import make_campaign, numbers
from tests.web.apps import signed_by_sinch
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.models import Contact, Message, MessageStatus, Role, Segment

_inbound_ids = count(1)


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id (a section, a table...), up to its closing tag."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>.*?</\1>', page, re.S)
    assert found is not None, f"no #{element_id}"
    return found[0]


def add_contact(client: TestClient, phone: str, **fields: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/contacts", json={"phone": phone, **fields})
    assert answer.status_code == 201, answer.text
    contact: dict[str, Any] = answer.json()
    return contact


def text_in(client: TestClient, phone: str, body: str) -> None:
    """An inbound SMS, as Sinch (here the simulator's signature) posts it to the webhook."""
    raw = json.dumps(
        {
            "type": "mo_text",
            "id": f"01MOTEST{next(_inbound_ids):018d}",
            "from": phone.removeprefix("+"),
            "to": "12017777777",
            "body": body,
            "received_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    answer = client.post(
        "/api/webhooks/inbound", content=raw, headers=signed_by_sinch(settings, raw)
    )
    assert answer.status_code == 200, answer.text


def links_to_contacts(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/contacts/(\d+)"', section(page, "contacts-table"))}


def test_search_and_filters_narrow_the_contact_list(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        amelie = add_contact(client, "+33612345678", first_name="Amélie", last_name="Poulain")
        bob = add_contact(client, "+12015550100", first_name="Bob")
        carol = add_contact(client, "+447400123456", first_name="Carol")
        client.post(f"/api/v1/contacts/{carol['id']}/opt-out", json={})
        spring = client.post("/api/v1/lists", json={"name": "Spring"}).json()
        client.post(f"/api/v1/lists/{spring['id']}/members", json={"contact_ids": [bob["id"]]})

        def shown(**query: str) -> set[int]:
            page = client.get("/contacts", params=query)
            assert page.status_code == 200
            return links_to_contacts(page.text)

        everybody = {amelie["id"], bob["id"], carol["id"]}
        assert shown() == everybody
        assert shown(search="poulain") == {amelie["id"]}
        assert shown(search="2015550") == {bob["id"]}
        assert shown(status="unsubscribed") == {carol["id"]}
        assert shown(country="gb") == {carol["id"]}
        assert shown(list_id=str(spring["id"])) == {bob["id"]}
        assert shown(country="FR", status="subscribed") == {amelie["id"]}
        page = client.get("/contacts", params={"search": "poulain"}).text
        assert 'value="poulain"' in page and 'href="/contacts">Clear' in page
        assert "No contacts match" in client.get("/contacts", params={"search": "nobody"}).text
        # A bad filter is ignored and said so, rather than answered with an error.
        lenient = client.get("/contacts", params={"country": "France", "status": "maybe"})
        assert lenient.status_code == 200
        assert "Country ignored" in lenient.text and "Unknown status ignored" in lenient.text
        assert links_to_contacts(lenient.text) == everybody


def test_the_list_is_paged_by_cursor(signed_in: SignedIn, database: Database) -> None:
    with database.write() as session:
        session.add_all(Contact(phone=phone, country="US", attributes={}) for phone in numbers(51))
    with signed_in(Role.VIEWER) as client:
        first = client.get("/contacts").text
        assert len(links_to_contacts(first)) == 50
        assert "First page" not in first
        following = re.search(r'<a href="([^"]+)" rel="next">', first)
        assert following is not None
        second = client.get(following[1].replace("&amp;", "&")).text
        assert len(links_to_contacts(second)) == 1
        assert links_to_contacts(second).isdisjoint(links_to_contacts(first))
        assert 'rel="next"' not in second and "First page" in second


def test_a_contact_page_shows_consent_history_messages_and_texts_received(
    signed_in: SignedIn, database: Database
) -> None:
    phone = "+12015550100"
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        contact = add_contact(
            editor,
            phone,
            first_name="Bob",
            last_name="Smith",
            attributes={"plan": "gold"},
            consent_evidence="signed up at the counter",
        )
        campaign = make_campaign(database, [phone], launch=True)
        with database.write() as session:
            session.execute(
                update(Message)
                .where(Message.campaign_id == campaign.id)
                .values(status=MessageStatus.FAILED, status_code=402)
            )
        text_in(viewer, phone, "Thanks, see you Saturday")
        text_in(viewer, phone, "STOP")

        page = viewer.get(f"/contacts/{contact['id']}")
        assert page.status_code == 200
        assert "<h1>Bob Smith</h1>" in page.text
        status = section(page.text, "contact-status")
        assert ">unsubscribed<" in status and "status-unsubscribed" in status
        assert 'data-consent-events="2"' in status  # contacts.js follows the ledger from there
        assert "gold" in section(page.text, "contact-attributes")

        history = section(page.text, "consent-history")
        kinds = re.findall(r'data-kind="(\w+)" data-source="([^"]+)"', history)
        assert kinds == [("opt_out", "keyword"), ("opt_in", "api")]  # newest first
        assert "SMS keyword" in history and "<q>STOP</q>" in history
        assert "signed up at the counter" in history

        sent = section(page.text, "contact-messages")
        assert f'href="/campaigns/{campaign.id}">Test campaign</a>' in sent
        assert "status-failed" in sent and ">402<" in sent
        assert "Automatic replies: STOP" in sent  # the STOP's confirmation

        received = section(page.text, "contact-inbound")
        assert received.index("STOP") < received.index("Thanks, see you Saturday")
        assert "keyword-opt_out" in received
        assert f'href="/campaigns/{campaign.id}"' in received  # the reply answers the campaign


def test_only_writers_see_opt_out_opt_in_and_erase(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        contact = add_contact(editor, "+33612345678")
        path = f"/contacts/{contact['id']}"
        read_only = viewer.get(path).text
        for control in ("contact-opt-out", "contact-opt-in", "contact-erase", "data-api-"):
            assert control not in read_only
        page = editor.get(path).text
        assert f'data-api-form="POST /api/v1/contacts/{contact["id"]}/opt-out"' in page
        assert 'id="contact-opt-in"' not in page  # already subscribed
        erase = re.search(r'<button[^>]*id="contact-erase"[^>]*>', page, re.S)
        assert erase is not None
        assert f'data-api-action="DELETE /api/v1/contacts/{contact["id"]}?erase=true"' in erase[0]
        assert "data-confirm=" in erase[0]
        assert '<script src="/static/contacts.js" defer></script>' in page

        # What the buttons send, with the page's session and CSRF token.
        evidence = {"evidence": "asked by phone"}
        assert editor.post(f"/api/v1/contacts/{contact['id']}/opt-out", json=evidence).is_success
        page = editor.get(path).text
        assert ">unsubscribed<" in section(page, "contact-status")
        assert "asked by phone" in section(page, "consent-history")
        assert 'id="contact-opt-in"' in page and 'id="contact-opt-out"' not in page
        erased = editor.delete(f"/api/v1/contacts/{contact['id']}", params={"erase": "true"})
        assert erased.status_code == 200, erased.text
        gone = editor.get(path)
        assert gone.status_code == 404 and "Contact not found" in gone.text


def test_unknown_contacts_are_a_not_found_page(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        for contact_id in ("999999", "99999999999999999999999"):
            page = client.get(f"/contacts/{contact_id}")
            assert page.status_code == 404
            assert "Contact not found" in page.text


CSV = "Prénom;Nom;Mobile\nAmélie;Poulain;06 12 34 56 78\nBo;;n/a\nJean;;+33 6 12 34 56 79\n"


def wait_until_finished(client: TestClient, import_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/imports/{import_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish")


def test_an_import_uploaded_as_the_page_does_completes_with_its_rejections(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR, default_region="FR") as client:
        form = client.get("/contacts/import")
        assert form.status_code == 200
        for element in ("import-form", "import-file", "import-submit"):
            assert f'id="{element}"' in form.text
        assert 'name="file"' in form.text and 'name="list"' in form.text
        assert 'name="default_region" value="FR"' in form.text
        assert '<script src="/static/import.js" defer></script>' in form.text

        # import.js: multipart FormData to the API with the session's CSRF header.
        answer = client.post(
            "/api/v1/imports",
            files={"file": ("customers.csv", CSV.encode(), "text/csv")},
            data={"list": "Spring", "consent_confirmed": "true"},
        )
        assert answer.status_code == 202, answer.text
        job = answer.json()
        running = client.get(f"/contacts/imports/{job['id']}").text
        assert f'data-import-id="{job["id"]}"' in section(running, "import-progress")
        assert 'id="import-status"' in running

        assert wait_until_finished(client, job["id"])["status"] == "completed"
        page = client.get(f"/contacts/imports/{job['id']}").text
        assert 'data-status="completed"' in page and 'value="1.0000"' in page
        summary = section(page, "import-summary")
        counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', summary))
        assert counts["rows"] == "3" and counts["created"] == "2" and counts["rejected"] == "1"
        assert "/contacts?list_id=" in summary
        rejections = section(page, "import-rejections")
        assert "not a phone number" in rejections and ">n/a<" in rejections
        link = re.search(r'id="import-rejections-csv" href="([^"]+)"', rejections)
        assert link is not None
        report = client.get(link[1])
        assert report.status_code == 200
        assert report.text.splitlines() == ["line,reason,value", "3,not a phone number,n/a"]
        listed = section(client.get("/contacts/import").text, "import-recent")
        assert f'href="/contacts/imports/{job["id"]}"' in listed and "customers.csv" in listed


def test_viewers_see_imports_but_no_upload_form(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get("/contacts/import")
        assert page.status_code == 200
        assert 'id="import-form"' not in page.text
        assert "not start one" in page.text
        assert client.get("/contacts/imports/999999").status_code == 404


def test_lists_and_segments_show_their_sizes(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        french = add_contact(editor, "+33612345678")
        add_contact(editor, "+33612345679")
        add_contact(editor, "+12015550100")
        vip = editor.post("/api/v1/lists", json={"name": "VIP"}).json()
        editor.post(f"/api/v1/lists/{vip['id']}/members", json={"contact_ids": [french["id"]]})
        editor.post(f"/api/v1/contacts/{french['id']}/opt-out", json={})
        rules = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "FR"}]}
        created = editor.post("/api/v1/segments", json={"name": "France", "rules": rules})
        assert created.status_code == 201, created.text

        page = viewer.get("/contacts/lists").text
        lists = section(page, "lists-table")
        assert f'href="/contacts?list_id={vip["id"]}">VIP</a>' in lists
        assert re.search(r">VIP</a></td>\s*<td class=\"num\">1</td>", lists)
        segments = section(page, "segments-table")
        assert re.search(r'<td class="num">2</td>\s*<td class="num">1</td>', segments)
        assert 'id="list-form"' not in page and 'id="segment-form"' not in page

        page = editor.get("/contacts/lists").text
        assert 'data-api-form="POST /api/v1/lists"' in page
        assert 'href="/segments/new"' in page  # the builder, on a page of its own
        # The builder's field errors come from the API, under `rules...`.
        bad = {"name": "Bad", "rules": {"conditions": [{"field": "status", "op": "gt"}]}}
        problems = editor.post("/api/v1/segments", json=bad).json()["problems"]
        assert [p["field"] for p in problems] == ["rules.conditions[0].op"]


def _store_segment(database_url: str, name: str, rules: Any) -> int:
    """Written straight into the database, past every check, as an older textcast could."""
    database = Database(database_url)
    with database.write() as session:
        segment = Segment(name=name, rules=rules)
        session.add(segment)
        session.flush()
        segment_id = segment.id
    database.dispose()
    return segment_id


def test_a_broken_segment_is_an_error_on_its_own_row_and_every_page_still_answers(
    signed_in: SignedIn, database_url: str
) -> None:
    deep: Any = "FR"
    for _ in range(900):
        deep = [deep]
    quoted = {"conditions": [{"field": 'attributes.a"b', "op": "eq", "value": "x"}]}
    broken = [
        _store_segment(database_url, "Quoted", quoted),
        _store_segment(
            database_url, "Huge", {"conditions": [{"field": "list", "op": "in", "value": [10**30]}]}
        ),
        _store_segment(
            database_url,
            "Deep",
            {"conditions": [{"field": "country", "op": "in", "value": [deep]}]},
        ),
    ]
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        add_contact(editor, "+33612345678", attributes={"a": "x"})
        rules = {"conditions": [{"field": "country", "op": "eq", "value": "FR"}]}
        good = editor.post("/api/v1/segments", json={"name": "France", "rules": rules}).json()
        page = viewer.get("/contacts/lists")
        assert page.status_code == 200
        good_row = section(page.text, f"segment-{good['id']}")
        assert re.search(r'<td class="num">1</td>\s*<td class="num">1</td>', good_row)
        for segment_id in broken:
            row = section(page.text, f"segment-{segment_id}")
            assert "cannot be used until its rules are fixed" in row
        assert 'attributes.a\\"b' in section(page.text, f"segment-{broken[0]}")  # its rules
        assert "must be a list id" in section(page.text, f"segment-{broken[1]}")
        assert "nested too deeply" in section(page.text, f"segment-{broken[2]}")

        assert viewer.get("/campaigns/new").status_code == 200
        assert viewer.get("/api/v1/segments").status_code == 200
        draft = editor.post(
            "/api/v1/campaigns", json={"name": "d", "body": "Hi", "segments": [broken[0]]}
        ).json()
        plan = viewer.get(f"/campaigns/{draft['id']}/plan")
        assert plan.status_code == 200
        blocked = section(plan.text, "plan-blocked")
        assert "Quoted" in blocked and "cannot be used until its rules are fixed" in blocked
        assert 'id="plan"' not in plan.text
        assert viewer.get(f"/campaigns/{draft['id']}").status_code == 200


def test_editors_edit_and_delete_segments_from_the_lists_page(signed_in: SignedIn) -> None:
    rules = {"conditions": [{"field": "country", "op": "eq", "value": "FR"}]}
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        segment = editor.post("/api/v1/segments", json={"name": "France", "rules": rules}).json()
        page = editor.get("/contacts/lists").text
        row = section(page, f"segment-{segment['id']}")
        assert f'href="/segments/{segment["id"]}">France</a>' in row
        assert "Contacts in France" in row  # the rules in words, not as JSON
        assert f'href="/segments/{segment["id"]}/edit"' in row
        assert f'data-api-action="DELETE /api/v1/segments/{segment["id"]}"' in row
        assert 'data-confirm="Delete the segment France?' in row
        assert 'href="/segments/new"' in page
        viewer_page = viewer.get("/contacts/lists").text
        viewer_row = section(viewer_page, f"segment-{segment['id']}")
        assert "data-api-action" not in viewer_row and "/edit" not in viewer_row
        assert 'href="/segments/new"' not in viewer_page

        # What the button sends, with the session's CSRF token.
        assert (
            viewer.patch(f"/api/v1/segments/{segment['id']}", json={"name": "X"}).status_code == 403
        )
        assert editor.delete(f"/api/v1/segments/{segment['id']}").status_code == 204
        assert "No segments yet." in viewer.get("/contacts/lists").text
