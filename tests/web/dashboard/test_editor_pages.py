"""The campaign editor and the plan before the send button: what people see and can do.

The editor's script (static/editor.js) maps the API's offender positions, counted in code
points, onto the text, which JavaScript counts in UTF-16 units: those functions run here under
node against the API's real answers.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard.conftest import SignedIn

from textcast.domain.content import encoding
from textcast.models import Role

EDITOR_JS = Path(__file__).parents[3] / "src" / "textcast" / "web" / "static" / "editor.js"
EDITOR_IDS = (
    "campaign-form",
    "name",
    "body",
    "counter",
    "counter-encoding",
    "counter-chars",
    "counter-parts",
    "counter-left",
    "offenders",
    "body-highlight",
    "offender-list",
    "replace-all",
    "audience-lists",
    "audience-segments",
    "recipients",
    "audience-summary",
    "schedule-now",
    "schedule-at",
    "schedule-local",
    "send_at",
    "local_send_time",
    "expires_at",
    "time-zone",
    "smart_encoding",
    "budget",
    "sender",
    "contact-search",
    "contact-results",
    "preview",
    "preview-text",
    "preview-meta",
    "preview-missing",
    "preview-error",
)


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>.*?</\1>', page, re.S)
    assert found is not None, f"no #{element_id}"
    return found[0]


def assert_allowed_by_the_content_security_policy(page: str) -> None:
    """`script-src 'self'` and classes only: no inline script, handler or style attribute."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page, re.I)
    assert not re.search(r"<[^>]+\sstyle\s*=", page, re.I)
    assert '<script src="/static/editor.js" defer></script>' in page


def add_contact(client: TestClient, phone: str, **fields: Any) -> int:
    answer = client.post("/api/v1/contacts", json={"phone": phone, **fields})
    assert answer.status_code == 201, answer.text
    contact_id: int = answer.json()["id"]
    return contact_id


def create_campaign(client: TestClient, **fields: Any) -> int:
    answer = client.post("/api/v1/campaigns", json={"name": "Spring sale", **fields})
    assert answer.status_code == 201, answer.text
    campaign_id: int = answer.json()["id"]
    return campaign_id


def run_js(script: str, time_zone: str = "UTC") -> Any:
    """`script` under node with the editor's text functions as `t`; prints JSON back."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    program = f"const t = require({json.dumps(str(EDITOR_JS))});\n{script}"
    done = subprocess.run(
        [node, "-e", program],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "TZ": time_zone},
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_editor_offers_the_counter_audience_schedule_and_preview(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as client:
        contact = add_contact(client, "+12015550100", first_name="Ann", attributes={"tier": "a"})
        listed = client.post("/api/v1/lists", json={"name": "Regulars"}).json()
        client.post(f"/api/v1/lists/{listed['id']}/members", json={"contact_ids": [contact]})
        rules = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "US"}]}
        segment = client.post("/api/v1/segments", json={"name": "Americans", "rules": rules})
        page = client.get("/campaigns/new")
    assert page.status_code == 200
    for element_id in EDITOR_IDS:
        assert f'id="{element_id}"' in page.text, element_id
    assert_allowed_by_the_content_security_policy(page.text)
    lists = section(page.text, "audience-lists")
    assert f'id="list-{listed["id"]}" name="lists" value="{listed["id"]}"' in lists
    assert "Regulars" in lists and "(1 members)" in lists
    segments = section(page.text, "audience-segments")
    assert f'id="segment-{segment.json()["id"]}"' in segments and "Americans" in segments
    fields = section(page.text, "merge-fields")
    for field in ("first_name", "last_name", "phone", "country", "tier"):
        assert f'data-insert-field="{field}"' in fields
    # Every input is labelled.
    for input_id in re.findall(r'<(?:input|textarea|select)[^>]*\bid="([^"]+)"', page.text):
        assert f'for="{input_id}"' in page.text, input_id
    assert 'id="create-button"' in page.text


def test_a_viewer_may_try_texts_but_not_save(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get("/campaigns/new")
        preview = client.post("/api/v1/previews", json={"body": "Hi {{ first_name }}"})
    assert page.status_code == 200
    assert 'id="editor-read-only"' in page.text
    assert 'id="create-button"' not in page.text
    assert preview.status_code == 200 and preview.json()["missing"] == ["first_name"]


def test_the_page_counts_with_the_servers_own_tables(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get("/campaigns/new").text
    found = re.search(r'data-counting="([^"]+)"', page)
    assert found is not None
    counting = html.unescape(found[1])
    texts = [
        "",
        "Plain text",
        "a" * 160,
        "a" * 161,
        "€" * 80,
        "€" * 81,
        "Line\r\nbreaks and \\ back|slash ~",
        "\U0001f600",
        "é" * 70 + "\U0001f600",
        "\u201cquoted\u201d",
        "\f",
    ]
    estimates = run_js(
        f"const c = JSON.parse({json.dumps(counting)});\n"
        f"console.log(JSON.stringify({json.dumps(texts)}.map((x) => t.estimate(x, c))));"
    )
    for text, estimate in zip(texts, estimates, strict=True):
        info = encoding.segment(text)
        assert estimate == {
            "encoding": info.encoding.value,
            "length": info.length,
            "parts": info.parts,
            "remaining": info.remaining,
        }, text


def test_offender_positions_after_an_emoji_mark_the_right_characters(
    signed_in: SignedIn,
) -> None:
    # An emoji beyond the BMP is one position for the API and two UTF-16 units in the browser;
    # a ZWJ sequence is three code points; "é" written as e + combining accent is two.
    text = (
        "\U0001f600 \u201cHi\u201d \U0001f469\u200d\U0001f4bb caf\u00e9 \u2014 "
        "ne\u0301e\U0001f600\u2019"
    )
    with signed_in(Role.VIEWER) as client:
        report = client.post("/api/v1/encoding", json={"text": text}).json()
    offenders = report["offenders"]
    assert [o["position"] for o in offenders] == [
        i for i, ch in enumerate(text) if ch not in encoding.GSM7_CHARS
    ]
    quote = next(o for o in offenders if o["character"] == "\u201d")
    result = run_js(
        f"const text = {json.dumps(text)};\n"
        f"const offenders = {json.dumps(offenders)};\n"
        "const pieces = t.highlightPieces(text, offenders);\n"
        "console.log(JSON.stringify({\n"
        "  marked: pieces.filter((p) => p.offender).map((p) => [p.text, p.offender.position]),\n"
        "  whole: pieces.map((p) => p.text).join(''),\n"
        "  offsets: offenders.map((o) => t.utf16Offset(text, o.position)),\n"
        "  back: offenders.map((o) => t.codePointIndex(text, t.utf16Offset(text, o.position))),\n"
        f"  replaced: t.replaceAt(text, [{quote['position']}], '\u201d', '\"'),\n"
        f"  stale: t.replaceAt('x' + text, [{quote['position']}], '\u201d', '\"'),\n"
        "}));"
    )
    assert result["marked"] == [[o["character"], o["position"]] for o in offenders]
    assert result["whole"] == text
    utf16 = [len(text[: o["position"]].encode("utf-16-le")) // 2 for o in offenders]
    assert result["offsets"] == utf16
    assert result["back"] == [o["position"] for o in offenders]
    position = quote["position"]
    assert result["replaced"] == text[:position] + '"' + text[position + 1 :]
    assert result["stale"] is None  # the text moved on: nothing is replaced blindly


def test_schedule_times_carry_the_browsers_offset_and_the_api_takes_them(
    signed_in: SignedIn,
) -> None:
    values = ["2026-07-01T10:00", "2026-01-15T10:30", "2026-03-08T02:30"]
    script = f"console.log(JSON.stringify({json.dumps(values)}.map(t.localToIso)));"
    assert run_js(script, "America/New_York") == [
        "2026-07-01T10:00:00-04:00",
        "2026-01-15T10:30:00-05:00",
        "2026-03-08T03:30:00-04:00",  # 02:30 does not exist that night: the clock jumps
    ]
    assert run_js(script, "Asia/Kolkata")[0] == "2026-07-01T10:00:00+05:30"
    # A start in the past is refused: the API's reading is checked with one years ahead.
    ahead = 'console.log(JSON.stringify(["2036-07-01T10:00"].map(t.localToIso)));'
    sent = run_js(ahead, "America/New_York")[0]
    with signed_in(Role.EDITOR) as client:
        campaign = client.post(
            "/api/v1/campaigns",
            json={"name": "Later", "body": "Hi", "recipients": ["+12015550100"], "send_at": sent},
        )
    assert campaign.status_code == 201, campaign.text
    start = datetime.fromisoformat(campaign.json()["send_at"])
    assert start == datetime(2036, 7, 1, 14, 0, tzinfo=UTC)


def test_pasted_numbers_split_on_lines_commas_and_semicolons() -> None:
    pasted = "+1 201 555 0100\n(201) 555-0101, +12015550102;;\n\n  +33 6 12 34 56 78  "
    assert run_js(f"console.log(JSON.stringify(t.splitNumbers({json.dumps(pasted)})));") == [
        "+1 201 555 0100",
        "(201) 555-0101",
        "+12015550102",
        "+33 6 12 34 56 78",
    ]


def _audience(client: TestClient) -> dict[str, Any]:
    """Ann and Zoë get it; Bob has no first name, Cy opted out, Ann's number is given twice."""
    ann = add_contact(client, "+12015550100", first_name="Ann")
    bob = add_contact(client, "+12015550101")
    cy = add_contact(client, "+12015550102", first_name="Cy")
    zoe = add_contact(client, "+33612345678", first_name="Zoë")
    assert client.post(f"/api/v1/contacts/{cy}/opt-out", json={}).status_code == 200
    listed = client.post("/api/v1/lists", json={"name": "Customers"}).json()
    members = {"contact_ids": [ann, bob, cy, zoe]}
    assert client.post(f"/api/v1/lists/{listed['id']}/members", json=members).status_code == 200
    return {"body": "Hi {{ first_name }}, spring sale today!", "lists": [listed["id"]]}


PRICES = {"prices": {"US": 0.01, "FR": 0.08}}


def test_the_plan_shows_exclusions_cost_and_finish_and_an_editor_can_send(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR, **PRICES) as client:
        campaign = create_campaign(client, **_audience(client), recipients=["+12015550100"])
        page = client.get(f"/campaigns/{campaign}/plan")
        assert page.status_code == 200
        assert_allowed_by_the_content_security_policy(page.text)
        assert section(page.text, "plan-recipients") == '<p class="stat" id="plan-recipients">2</p>'
        exclusions = section(page.text, "plan-exclusions")
        for reason, label in (
            ("opted_out", "Opted out of your messages"),
            ("missing_merge_field", "A merge field had no value and no default"),
            ("duplicate", "The same number more than once"),
        ):
            words = f'<span title="Code: {reason}">{label}</span>'
            row = re.search(
                rf'<tr data-reason="{reason}"><td>{words}</td><td class="num">1<', exclusions
            )
            assert row is not None, reason
        encodings = section(page.text, "plan-encodings")
        assert "<strong>GSM-7</strong>: 1 recipient" in encodings
        assert "<strong>UCS-2</strong>: 1 recipient" in encodings  # Zoë
        countries = section(page.text, "plan-countries")
        assert re.search(r'data-country="FR"><td>FR</td>.*?>1<.*?>1<.*?>0\.08<', countries)
        assert re.search(r'data-country="US"><td>US</td>.*?>1<.*?>1<.*?>0\.01<', countries)
        assert 'id="cost-estimate"' in countries  # other countries' prices are typical ones
        assert "0.09 USD" in section(page.text, "plan-cost")
        assert re.search(
            r'<time datetime="20\d\d-[^"]+" title="[^"]+ UTC" data-local-time>', page.text
        )
        assert "<dt>Estimated finish</dt>" in page.text
        assert "Hi Ann, spring sale today!" in section(page.text, "plan-sample")
        send = re.search(r'<button type="button" id="send-button"[^>]*>', page.text)
        assert send is not None and "disabled" not in send[0]
        assert f'data-send="/api/v1/campaigns/{campaign}/send"' in send[0]
        assert 'id="test-form"' in page.text
        # What the button does, then the page: no longer a draft, no plan and no button.
        assert client.post(f"/api/v1/campaigns/{campaign}/send").status_code == 202
        after = client.get(f"/campaigns/{campaign}/plan")
        assert 'id="plan-not-draft"' in after.text
        assert f'href="/campaigns/{campaign}"' in after.text
        assert 'id="send-button"' not in after.text


def test_a_viewer_sees_the_plan_without_the_send_button(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor:
        campaign = create_campaign(editor, **_audience(editor))
    with signed_in(Role.VIEWER) as viewer:
        page = viewer.get(f"/campaigns/{campaign}/plan")
        refused = viewer.post(f"/api/v1/campaigns/{campaign}/send")
    assert page.status_code == 200
    assert 'id="plan-exclusions"' in page.text and 'id="plan-countries"' in page.text
    assert 'id="send-button"' not in page.text and 'id="test-form"' not in page.text
    assert 'id="send-not-allowed"' in page.text
    assert refused.status_code == 403


def test_over_budget_the_send_button_is_disabled_and_the_api_refuses(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR, **PRICES) as client:
        campaign = create_campaign(client, **_audience(client), budget=0.05)
        page = client.get(f"/campaigns/{campaign}/plan")
        refused = client.post(f"/api/v1/campaigns/{campaign}/send")
        assert client.put(f"/api/v1/campaigns/{campaign}/budget", json={"budget": 1}).is_success
        raised = client.get(f"/campaigns/{campaign}/plan")
    assert "The estimated cost 0.09 USD exceeds the budget 0.05" in section(
        page.text, "plan-warnings"
    )
    assert 'id="budget-warning"' in page.text
    send = re.search(r'<button type="button" id="send-button"[^>]*>', page.text)
    assert send is not None and "disabled" in send[0]
    assert 'id="budget-form"' in page.text
    assert refused.status_code == 409 and "budget" in refused.json()["message"]
    assert 'id="budget-warning"' not in raised.text and 'id="budget-form"' not in raised.text


def test_the_plan_warns_about_recipients_held_for_their_local_time(
    signed_in: SignedIn,
) -> None:
    later = datetime.now(ZoneInfo("America/New_York")) + timedelta(hours=2)
    with signed_in(Role.EDITOR) as client:
        campaign = create_campaign(
            client,
            body="Doors open soon",
            recipients=["+12015550100", "+12015550101"],
            local_send_time=f"{later:%H:00}",
        )
        page = client.get(f"/campaigns/{campaign}/plan")
    assert section(page.text, "plan-deferred") == '<dd id="plan-deferred">2 recipients</dd>'
    warnings = section(page.text, "plan-warnings")
    assert "2 recipients are outside their send window (or before their local send time)" in (
        warnings
    )
    assert f"{later:%H:00} in each recipient's time zone" in page.text


def test_a_quota_refusal_is_a_429_the_page_can_show(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR, daily_recipient_quota=1) as client:
        first = create_campaign(client, body="One", recipients=["+12015550100"])
        second = create_campaign(client, body="Two", recipients=["+12015550101"])
        assert client.post(f"/api/v1/campaigns/{first}/send").status_code == 202
        refused = client.post(f"/api/v1/campaigns/{second}/send")
    assert refused.status_code == 429
    assert "quota" in refused.json()["message"] and refused.headers["retry-after"]


def test_an_unknown_campaign_has_no_plan(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        for campaign_id in ("4242", "9" * 30):
            page = client.get(f"/campaigns/{campaign_id}/plan")
            assert page.status_code == 404
            assert 'id="campaign-missing"' in page.text
        assert client.get("/campaigns/new/plan").status_code == 404
