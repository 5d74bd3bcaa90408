"""A draft reopened in the editor, its Edit / Duplicate / Delete buttons, and a plan that
refuses to send to nobody. The editor's diff of a change runs under node."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_editor_pages import (
    assert_allowed_by_the_content_security_policy,
    run_js,
    section,
)

from textcast.models import Role


def _create(client: TestClient, **extra: object) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/campaigns",
        json={"name": "Spring", "body": "Sale <today>", "recipients": ["+12015550100"], **extra},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_the_editor_reopens_a_draft_filled_in(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        group = client.post("/api/v1/lists", json={"name": "Regulars"}).json()
        send_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        campaign = _create(
            client,
            lists=[group["id"]],
            send_at=send_at.isoformat(),
            budget=12.5,
            smart_encoding=True,
            sender="Shop",
        )
        page = client.get(f"/campaigns/{campaign['id']}/edit")
    assert page.status_code == 200
    text = page.text
    assert_allowed_by_the_content_security_policy(text)
    assert "<h1>Edit campaign</h1>" in text
    form = section(text, "campaign-form")
    assert f'data-campaign-id="{campaign["id"]}"' in form
    assert 'id="name"' in form and 'value="Spring"' in form
    assert ">Sale &lt;today&gt;</textarea>" in form
    assert f'id="list-{group["id"]}" name="lists" value="{group["id"]}"' in form
    assert 'data-members="0" checked' in form
    assert ">+12015550100</textarea>" in form
    assert re.search(r'id="schedule-at"[^>]*checked', form)
    assert f'data-iso="{send_at.isoformat()}"' in form
    assert 'value="12.5"' in form and 'value="Shop"' in form
    assert re.search(r'id="smart_encoding"[^>]*checked', form)
    assert "Save changes and see the plan" in form


def test_the_editor_warns_that_a_scheduled_campaign_becomes_a_draft(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        campaign = _create(client, send_at=later)
        assert client.post(f"/api/v1/campaigns/{campaign['id']}/send").status_code == 202
        editor = client.get(f"/campaigns/{campaign['id']}/edit")
        page = client.get(f"/campaigns/{campaign['id']}")
    assert "Saving a change makes it a draft again" in section(editor.text, "editor-scheduled")
    actions = section(page.text, "campaign-actions")
    assert 'id="edit-campaign"' in actions and 'id="delete-campaign"' in actions
    assert "It will not be sent." in actions


def test_a_campaign_past_changing_goes_to_its_page(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign = _create(client)
        client.post(f"/api/v1/campaigns/{campaign['id']}/send")
        editor = client.get(f"/campaigns/{campaign['id']}/edit", follow_redirects=False)
        page = client.get(f"/campaigns/{campaign['id']}")
        missing = client.get("/campaigns/999999/edit")
    assert editor.status_code == 303
    assert editor.headers["location"] == f"/campaigns/{campaign['id']}"
    actions = section(page.text, "campaign-actions")
    assert 'id="duplicate-campaign"' in actions
    assert "edit-campaign" not in actions and "delete-campaign" not in actions
    assert missing.status_code == 404


def test_a_draft_page_and_its_plan_offer_edit_duplicate_and_delete(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign = _create(client)
        cid = campaign["id"]
        for path in (f"/campaigns/{cid}", f"/campaigns/{cid}/plan"):
            actions = section(client.get(path).text, "campaign-actions")
            assert f'href="/campaigns/{cid}/edit"' in actions
            assert f'data-api-action="POST /api/v1/campaigns/{cid}/duplicate"' in actions
            assert 'data-then="/campaigns/{id}/edit"' in actions
            delete = html.unescape(actions)
            assert f'data-api-action="DELETE /api/v1/campaigns/{cid}"' in delete
            assert 'data-confirm="Delete “Spring”? This cannot be undone."' in delete
    with signed_in(Role.VIEWER) as viewer:
        assert 'id="campaign-actions"' not in viewer.get(f"/campaigns/{cid}").text
        assert 'id="campaign-actions"' not in viewer.get(f"/campaigns/{cid}/plan").text


def test_the_plan_of_an_empty_audience_disables_send_with_the_reason(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        nobody = client.post("/api/v1/lists", json={"name": "Nobody yet"}).json()
        campaign = _create(client, recipients=[], lists=[nobody["id"]])
        page = client.get(f"/campaigns/{campaign['id']}/plan").text
    reason = section(page, "empty-audience")
    assert "Nothing to send: the audience is empty" in reason
    assert f'href="/campaigns/{campaign["id"]}/edit"' in reason
    button = re.search(r'<button type="button" id="send-button".*?>', page, re.S)
    assert button is not None
    assert 'disabled aria-describedby="send-refused"' in button[0]
    assert "Send is off: the audience is empty" in section(page, "send-refused")
    assert 'id="plan-warnings"' not in page  # the one warning is the alert


def test_a_change_sends_only_what_differs_and_nulls_what_was_emptied() -> None:
    before = {"name": "Spring", "body": "Hi", "recipients": ["+1"], "budget": 5, "lists": [1]}
    after = {"name": "Spring", "body": "Hello", "recipients": ["+1"], "lists": [1, 2]}
    script = (
        f"console.log(JSON.stringify(t.changedFields({json.dumps(before)}, {json.dumps(after)})));"
        'console.log(JSON.stringify([t.isoToLocal("2036-07-01T14:00:00+00:00"), '
        't.isoToLocal("")]));'
    )
    changes, local = (json.loads(line) for line in run_js_lines(script, "America/New_York"))
    assert changes == {"body": "Hello", "lists": [1, 2], "budget": None}
    assert local == ["2036-07-01T10:00", ""]


def run_js_lines(script: str, time_zone: str) -> list[str]:
    """`run_js` for a script that prints several lines of JSON."""
    printed = run_js(
        f"const out = []; const log = console.log; console.log = (x) => out.push(x);"
        f"{script} console.log = log; console.log(JSON.stringify(out));",
        time_zone,
    )
    assert isinstance(printed, list)
    return [str(line) for line in printed]
