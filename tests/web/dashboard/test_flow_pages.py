"""/flows and the builder: created from a template, saved through the page's own form (a
refused save names the step it is about, and keeps nothing), published, paused, resumed,
archived or deleted; a live flow's new version with its runs moved after a preview; the
figures the list and the builder show; the runs on a contact's page."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from tests.flows.helpers import advance, policy
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import add_contact, section

from textcast.db import Database
from textcast.domain import flows
from textcast.models import Flow, FlowRun, Role, utcnow

SECRET = b"flow-pages"


def _csrf(client: TestClient) -> str:
    return client.headers["X-CSRF-Token"]


def _create(client: TestClient, template: str, name: str = "") -> int:
    answer = client.post(
        "/flows",
        data={"csrf_token": _csrf(client), "template": template, "name": name},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/flows/(\d+)", answer.headers["location"])
    assert found is not None
    return int(found[1])


def _definition(page: str) -> dict[str, Any]:
    found = re.search(r'<textarea id="definition"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None
    loaded: dict[str, Any] = json.loads(html.unescape(found[1]))
    return loaded


def _save(client: TestClient, flow_id: int, definition: object, **fields: str) -> Any:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return client.post(
        f"/flows/{flow_id}",
        data={"csrf_token": _csrf(client), "name": "Cart", "definition": text, **fields},
        follow_redirects=False,
    )


def _act(client: TestClient, flow_id: int, action: str) -> Any:
    return client.post(
        f"/flows/{flow_id}/{action}",
        data={"csrf_token": _csrf(client)},
        follow_redirects=False,
    )


def _cart(database: Database, phone: str, key: str) -> None:
    with database.write() as session:
        flows.record_event(
            session,
            flows.EventInput(
                "cart_abandoned",
                phone=phone,
                properties={"cart_url": "https://s/c"},
                idempotency_key=key,
            ),
            "US",
            SECRET,
        )


def test_an_editor_creates_the_abandoned_cart_flow_from_its_template(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        listing = client.get("/flows")
        assert 'href="/flows" aria-current="page"' in listing.text
        assert "No flows yet." in listing.text
        for key in ("welcome", "abandoned_cart", "birthday", "win_back", "blank"):
            assert f'value="{key}"' in section(listing.text, "new-flow-form")
        flow_id = _create(client, "abandoned_cart")
        page = client.get(f"/flows/{flow_id}")
        listing = client.get("/flows")
    assert page.status_code == 200
    assert "Your shop or app posts the event cart_abandoned" in page.text
    assert _definition(page.text)["goal"] == "order_placed"
    steps = section(page.text, "flow-steps-table")
    assert [m for m in re.findall(r'data-step="([^"]*)"', steps)] == [
        "wait_1h",
        "reminder",
        "wait_1d",
        "last_call",
    ]
    assert 'id="flow-publish"' in page.text and 'id="flow-delete"' in page.text
    row = section(listing.text, f"flow-{flow_id}")
    assert "Abandoned cart" in row and "draft" in row and "cart_abandoned" in row


def test_a_save_with_a_mistake_names_the_step_and_keeps_nothing(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        flow_id = _create(client, "abandoned_cart")
        definition = _definition(client.get(f"/flows/{flow_id}").text)
        definition["steps"][1]["body"] = "  "
        definition["steps"][2]["for"] = "soon"
        refused = _save(client, flow_id, definition)
        bad_json = _save(client, flow_id, '{"trigger": ')
        again = client.get(f"/flows/{flow_id}")
    assert refused.status_code == 422
    problems = section(refused.text, "flow-problems")
    assert "2 problems: nothing was saved." in problems
    assert "<strong>Step 2 (send, reminder):</strong> the text to send must not be empty" in (
        problems
    )
    assert "Step 3 (wait, wait_1d):" in problems and "is not a duration" in problems
    # The builder's script puts each next to its step: the field and the step's path.
    builder = json.loads(
        html.unescape(re.search(r'data-builder="([^"]*)"', refused.text)[1])  # type: ignore[index]
    )
    assert {"field": "steps[1].body", "step": "steps[1]"} in [
        {"field": p["field"], "step": p["step"]} for p in builder["problems"]
    ]
    assert _definition(refused.text)["steps"][1]["body"] == "  "  # shown as it was sent
    assert bad_json.status_code == 422
    assert "<strong>Definition:</strong> is not valid JSON" in bad_json.text
    assert "You left something in your cart" in _definition(again.text)["steps"][1]["body"]


def test_the_forms_need_the_session_token_and_the_permission(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        forged = client.post("/flows", data={"template": "welcome"}, follow_redirects=False)
        flow_id = _create(client, "welcome")
        unknown = _act(client, flow_id, "launch")
    with signed_in(Role.VIEWER) as viewer:
        page = viewer.get(f"/flows/{flow_id}")
        refused = _act(viewer, flow_id, "publish")
    assert forged.status_code == 403
    assert unknown.status_code == 404 and "There is no flow action launch" in unknown.text
    assert refused.status_code == 403
    assert 'id="flow-publish"' not in page.text and 'id="flow-save"' not in page.text
    assert "data-read-only" in page.text
    with database.read() as session:
        assert [f.status for f in session.query(Flow)] == ["draft"]


def test_publish_pause_resume_archive_and_delete(signed_in: SignedIn, database: Database) -> None:
    with signed_in(Role.EDITOR) as client:
        kept = _create(client, "welcome")
        dropped = _create(client, "win_back", "Old idea")
        assert _act(client, kept, "publish").headers["location"] == f"/flows/{kept}?done=publish"
        live = client.get(f"/flows/{kept}?done=publish")
        again = _act(client, kept, "publish")
        assert _act(client, kept, "pause").status_code == 303
        paused = client.get(f"/flows/{kept}")
        assert _act(client, kept, "resume").status_code == 303
        assert _act(client, kept, "archive").status_code == 303
        archived = client.get(f"/flows/{kept}")
        gone = _act(client, dropped, "delete")
        listing = client.get("/flows")
        everything = client.get("/flows?archived=true")
    assert "Published: its trigger starts runs now." in live.text
    assert 'id="flow-pause"' in live.text and 'id="flow-version">version 1' in live.text
    assert again.status_code == 409 and "only a draft is published" in again.text
    assert 'id="flow-resume"' in paused.text
    assert 'id="flow-status">archived' in archived.text and 'id="flow-save"' not in archived.text
    assert gone.headers["location"] == "/flows?deleted=1"
    assert f'id="flow-{kept}"' not in listing.text and "No flows yet." in listing.text
    assert f'id="flow-{kept}"' in everything.text and f'id="flow-{dropped}"' not in everything.text


def test_a_live_flow_saves_a_new_version_and_moves_its_runs_after_a_preview(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        flow_id = _create(client, "abandoned_cart")
        assert _act(client, flow_id, "publish").status_code == 303
        contact = add_contact(client, "+12015550123")
        _cart(database, "+12015550123", "cart-1")
        advance(database, policy(), utcnow())  # the engine's turn: the run rests in wait_1h
        before = client.get(f"/flows/{flow_id}")
        definition = _definition(before.text)
        del definition["steps"][0]  # the first wait, where the run rests now
        preview = _save(client, flow_id, definition, move_runs="true")
        with database.read() as session:
            assert session.query(FlowRun).one().version_id == session.get(Flow, flow_id).version_id
        saved = _save(client, flow_id, definition, move_runs="true", confirm_move="true")
        page = client.get(f"/flows/{flow_id}")
        contact_page = client.get(f"/contacts/{contact['id']}")
        listing = client.get("/flows")
    assert preview.status_code == 200
    landing = section(preview.text, "flow-landings-table")
    assert "wait_1h" in landing and "step reminder, at once" in landing
    assert saved.headers["location"] == f"/flows/{flow_id}?saved=1"
    assert 'id="flow-version">version 2' in page.text
    with database.read() as session:
        run = session.query(FlowRun).one()
        assert run.position == "reminder" and not run.waiting
    runs = section(contact_page.text, "contact-flows-table")
    assert (
        f'href="/flows/{flow_id}">Cart</a>' in runs
        and "in progress" in runs
        and "at step reminder" in runs
    )
    # The list and the builder count the same runs.
    row = section(listing.text, f"flow-{flow_id}")
    assert '<td class="num flow-runs-active">1</td>' in row
    counts = section(page.text, "flow-run-counts")
    assert re.search(r'data-run-status="active"><dt>in progress</dt><dd>1</dd>', counts)
    steps = section(before.text, "flow-steps-table")
    wait = re.search(r'<tr data-step="wait_1h".*?</tr>', steps, re.S)
    assert wait is not None
    assert 'data-figure="entered">1<' in wait[0] and 'data-figure="waiting">1<' in wait[0]


def test_a_refused_publish_names_the_problem_and_an_edit_can_be_undone(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        birthday = _create(client, "birthday")
        refused = _act(client, birthday, "publish")
        welcome = _create(client, "welcome")
        assert _act(client, welcome, "publish").status_code == 303
        first = _definition(client.get(f"/flows/{welcome}").text)
        changed = json.loads(json.dumps(first))
        changed["steps"][0]["body"] = "Hi there! Reply STOP to opt out."
        assert _save(client, welcome, changed).status_code == 303
        page = client.get(f"/flows/{welcome}")
        restore = section(page.text, "flow-version-1")
        hidden = re.search(r'name="definition" value="([^"]*)"', restore)
        assert hidden is not None
        back = _save(client, welcome, html.unescape(hidden[1]))
        after = client.get(f"/flows/{welcome}")
    assert refused.status_code == 422
    assert "<strong>Trigger:</strong> no contact has an attribute &#39;birthday&#39;" in (
        refused.text
    )
    assert 'id="flow-version">version 2' in page.text
    assert back.status_code == 303, section(back.text, "flow-problems")
    assert 'id="flow-version">version 3' in after.text
    assert _definition(after.text)["steps"] == first["steps"]
