"""A campaign's A/B test on the dashboard without a script: the editor's section saved as a
plain form (the CSRF token in a field), refused whole with each problem next to its field, a
new draft and its test made together or not at all; the results card and its picks; a
campaign under a test pointing to it, with no controls."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_editor_pages import (
    assert_allowed_by_the_content_security_policy,
    section,
)

from textcast.models import Role

BODY_A = "Spring sale today: https://example.com/a"
BODY_B = "Spring sale, 20% off: https://example.com/b"
NUMBERS = [f"+1201555{n:04d}" for n in range(400, 410)]


def _draft(client: TestClient) -> int:
    answer = client.post(
        "/api/v1/campaigns", json={"name": "Spring", "body": BODY_A, "recipients": NUMBERS}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _ab_section(page: str) -> str:
    """The editor's test section (fieldsets inside fieldsets: up to the save button)."""
    start = page.index('id="ab-test"')
    return page[start : page.index('id="create-button"', start)]


def _no_inline_code(page: str) -> None:
    """`script-src 'self'` and classes only: no inline script, handler or style attribute."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page, re.I)
    assert not re.search(r"<[^>]+\sstyle\s*=", page, re.I)


def _token(client: TestClient) -> str:
    return str(client.headers["X-CSRF-Token"])


def _test_form(client: TestClient, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": _token(client),
        "body": BODY_A,
        "ab_enabled": "on",
        "ab_kind": "texts",
        "variant_body_B": BODY_B,
        "pool_percent": "30",
        "metric": "clicks",
        "window_hours": "12",
        "decide": "after",
        "decide_after_hours": "1.5",
        "fallback": "wait",
        "min_sample": "50",
        "confidence": "0.99",
        **fields,
    }


def _without_script(client: TestClient) -> TestClient:
    """As a browser posts a form: the token in its field only."""
    del client.headers["X-CSRF-Token"]
    return client


def test_the_section_saves_as_a_plain_form_and_reopens_filled_in(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        form = _test_form(client)
        saved = _without_script(client).post(
            f"/campaigns/{campaign_id}/ab-test", data=form, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == f"/campaigns/{campaign_id}/plan"
        page = client.get(f"/campaigns/{campaign_id}/edit").text
    assert_allowed_by_the_content_security_policy(page)
    editor = _ab_section(page)
    assert re.search(r'id="ab_enabled"[^>]*checked', editor)
    assert f">{html.escape(BODY_B)}</textarea>" in editor
    assert re.search(r'id="pool_percent"[^>]*value="30"', editor)
    assert re.search(r'id="window_hours"[^>]*value="12"', editor)
    assert re.search(r'id="decide_after_hours"[^>]*value="1.5"', editor)
    assert re.search(r'id="fallback-wait"[^>]*checked', editor)
    assert re.search(r'id="min_sample"[^>]*value="50"', editor)
    assert re.search(r'value="0.99" selected', editor)
    # The form posts here without the script; the token goes with it.
    assert f'action="/campaigns/{campaign_id}/ab-test"' in page
    assert 'name="csrf_token"' in section(page, "campaign-form")


def test_a_refused_test_shows_each_problem_by_its_field_and_keeps_nothing(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        assert client.post(f"/campaigns/{campaign_id}/ab-test", data=_test_form(client)).is_success
        bad = _test_form(client, pool_percent="150", variant_body_B="", min_sample="lots")
        # The whole-number check comes first; then the rest, all at once.
        refused = _without_script(client).post(f"/campaigns/{campaign_id}/ab-test", data=bad)
        assert refused.status_code == 422
        assert_allowed_by_the_content_security_policy(refused.text)
        assert "Minimum sample: must be a whole number" in _ab_section(refused.text)
        bad["min_sample"] = "5"
        refused = client.post(f"/campaigns/{campaign_id}/ab-test", data=bad)
        assert refused.status_code == 422
        editor = _ab_section(refused.text)
        # Shown as posted, the problems next to their fields, in words.
        assert re.search(r'id="pool_percent"[^>]*value="150"', editor)
        pool = re.search(r'data-ab-error="test.pool_percent"[^>]*>([^<]*)<', editor)
        assert pool is not None and pool[1].startswith("Test pool: must be 1 to 100")
        empty = re.search(r'data-ab-error="variants\[1\].body"[^>]*>([^<]*)<', editor)
        assert empty is not None and empty[1] == "Variant B&#39;s text: must not be empty"
        assert "3 problems in the A/B test" in refused.text  # and the click rate needs a link in B
        # Nothing of it was kept.
        kept = client.get(f"/campaigns/{campaign_id}/edit").text
    assert re.search(r'id="pool_percent"[^>]*value="30"', kept)
    assert f">{html.escape(BODY_B)}</textarea>" in kept


def test_the_script_gets_the_problems_by_field(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        answer = client.post(
            f"/campaigns/{campaign_id}/ab-test",
            data=_test_form(client, metric="event", event_name=""),
            headers={"Accept": "application/json"},
        )
    assert answer.status_code == 422
    assert answer.json()["problems"] == [
        {"field": "test.event", "message": "Event: name the event that counts, e.g. order_placed"}
    ]


def test_a_new_draft_and_its_test_are_made_together_or_not_at_all(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign = json.dumps({"name": "Spring", "body": BODY_A, "recipients": NUMBERS})
        json_answer = {"Accept": "application/json"}
        refused = client.post(
            "/campaigns/ab-test",
            data=_test_form(client, campaign=campaign, variant_body_B=BODY_A),
            headers=json_answer,
        )
        assert refused.status_code == 422
        assert refused.json()["problems"][0]["message"] == (
            "Variants: two variants have the same text"
        )
        assert client.get("/api/v1/campaigns").json()["items"] == []
        made = client.post(
            "/campaigns/ab-test", data=_test_form(client, campaign=campaign), headers=json_answer
        )
        assert made.status_code == 201, made.text
        page = client.get(f"/campaigns/{made.json()['id']}/edit").text
    assert f">{html.escape(BODY_B)}</textarea>" in page


def test_a_send_time_test_keeps_its_times(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        form = _test_form(
            client, ab_kind="times", send_time_A="09:00", send_time_B="18:30", metric="replies"
        )
        assert client.post(f"/campaigns/{campaign_id}/ab-test", data=form).is_success
        page = client.get(f"/campaigns/{campaign_id}/edit").text
        same = _test_form(client, ab_kind="times", send_time_A="09:00", send_time_B="09:00")
        refused = client.post(f"/campaigns/{campaign_id}/ab-test", data=same)
    editor = _ab_section(page)
    assert re.search(r'id="ab-kind-times"[^>]*checked', editor)
    assert re.search(r'id="send_time_A"[^>]*value="09:00"', editor)
    assert re.search(r'id="send_time_B"[^>]*value="18:30"', editor)
    assert re.search(r'id="send_time_C"[^>]*value=""', editor)
    assert re.search(r'<option value="replies" selected', editor)
    assert refused.status_code == 422
    assert "Variants: two variants have the same send time" in refused.text


def test_the_switch_off_makes_the_draft_plain_again(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        assert client.post(f"/campaigns/{campaign_id}/ab-test", data=_test_form(client)).is_success
        form = _test_form(client)
        del form["ab_enabled"]
        assert client.post(f"/campaigns/{campaign_id}/ab-test", data=form).is_success
        page = client.get(f"/campaigns/{campaign_id}/edit").text
    assert not re.search(r'id="ab_enabled"[^>]*checked', page)
    assert 'data-had-test="false"' in page


def test_saving_a_test_needs_the_token_and_the_write_permission(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        form = _test_form(client, csrf_token="forged")
        forged = _without_script(client).post(f"/campaigns/{campaign_id}/ab-test", data=form)
    assert forged.status_code == 403
    with signed_in(Role.VIEWER) as client:
        refused = client.post(f"/campaigns/{campaign_id}/ab-test", data=_test_form(client))
        assert refused.status_code == 403
        pick = {"csrf_token": _token(client), "variant": "A"}
        assert client.post(f"/campaigns/{campaign_id}/ab-pick", data=pick).status_code == 403


def _launched(client: TestClient) -> tuple[int, dict[str, Any]]:
    campaign_id = _draft(client)
    form = _test_form(client, pool_percent="40", decide="manual", min_sample="1")
    assert client.post(f"/campaigns/{campaign_id}/ab-test", data=form).is_success
    sent = client.post(f"/api/v1/campaigns/{campaign_id}/send")
    assert sent.status_code == 202, sent.text
    return campaign_id, sent.json()


def test_the_results_card_offers_the_picks_until_one_is_made(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, short_link_base="https://go.example") as client:
        campaign_id, _ = _launched(client)
        page = client.get(f"/campaigns/{campaign_id}").text
        _no_inline_code(page)
        card = section(page, "ab-results")
        assert "A/B test: click rate" in card
        assert "Clicked a link within 12 h" in card  # what a success is, in its words
        assert "Testing: waiting for your pick." in card
        assert card.count("Pick this one") == 2
        assert "Yes, send B to 6 recipients" in card
        assert "not enough data yet" in card
        wrong = client.post(
            f"/campaigns/{campaign_id}/ab-pick",
            data={"csrf_token": _token(client), "variant": "Z"},
            follow_redirects=False,
        )
        assert wrong.status_code == 303
        assert "must be one of A, B" in html.unescape(client.get(wrong.headers["location"]).text)
        picked = client.post(
            f"/campaigns/{campaign_id}/ab-pick",
            data={"csrf_token": _token(client), "variant": "B"},
            follow_redirects=False,
        )
        assert picked.status_code == 303
        card = section(client.get(f"/campaigns/{campaign_id}").text, "ab-results")
    assert re.search(r'id="ab-winner">B<', card)
    assert "chosen by user" in card
    assert "Pick this one" not in card and "to the rest now" not in card


def test_a_campaign_under_a_test_names_it_and_has_no_controls(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, short_link_base="https://go.example") as client:
        campaign_id, _ = _launched(client)
        listed = client.get("/api/v1/campaigns").json()["items"]
        assert [c["id"] for c in listed] == [campaign_id]
        cell = campaign_id + 1  # the first campaign made under it: variant A's share
        page = client.get(f"/campaigns/{cell}").text
        _no_inline_code(page)
    note = section(page, "part-of-test")
    assert f'href="/campaigns/{campaign_id}#ab-results"' in note
    assert "Spring</a>'s A/B test (variant A)" in note
    assert 'id="campaign-actions"' not in page
    assert 'id="pause"' not in page and 'id="cancel"' not in page
    assert 'id="ab-results"' not in page


def test_the_plan_page_of_a_draft_test_shows_each_variants_share_and_cost(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as client:
        campaign_id = _draft(client)
        saved = client.post(
            f"/campaigns/{campaign_id}/ab-test", data=_test_form(client), follow_redirects=False
        )
        assert saved.status_code in (200, 303), saved.text
        page = client.get(f"/campaigns/{campaign_id}/plan").text
    variants = page[page.index('id="plan-variants"') :]
    assert 'data-variant="A"' in variants and 'data-variant="B"' in variants
    # 30% of 10 numbers: 3 in the pool, the rest 7.
    assert "A test pool of 3 recipients" in html.unescape(variants)
    assert "the rest, 7 recipients" in html.unescape(variants)


def test_the_results_card_moves_with_the_live_figures(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, short_link_base="https://go.example") as client:
        campaign_id, _ = _launched(client)
        page = client.get(f"/campaigns/{campaign_id}").text
        # The card is inside the part the page's script swaps in, and the state the page was
        # drawn from names the test's, so a click (which moves no status) still redraws it.
        live_part = page[page.index('id="campaign-live"') :]
        assert 'id="ab-results"' in live_part
        found = re.search(r'data-seen="([^"]*)"', page)
        assert found is not None and " testing Not enough data yet" in html.unescape(found[1])
        picked = client.post(
            f"/campaigns/{campaign_id}/ab-pick",
            data={"csrf_token": _token(client), "variant": "B"},
            follow_redirects=False,
        )
        assert picked.status_code == 303
        fragment = client.get(f"/campaigns/{campaign_id}/live").text
    card = section(fragment, "ab-results")
    assert re.search(r'id="ab-winner">B<', card)
    # The rest's plan at the decision: its estimate with B's text.
    assert "estimated at" in card and "with the winner's text" in card


def test_the_message_card_of_a_text_test_says_whose_text_it_shows(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, short_link_base="https://go.example") as client:
        campaign_id, _ = _launched(client)
        page = client.get(f"/campaigns/{campaign_id}").text
    message = section(page, "message")
    assert "Variant A's text below" in html.unescape(message)
    assert BODY_A in html.unescape(message)


def test_the_page_lays_the_tests_parts_side_by_side(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, short_link_base="https://go.example") as client:
        campaign_id, _ = _launched(client)
        parts = section(client.get(f"/campaigns/{campaign_id}").text, "test-parts")
    rows = re.findall(r'<tr data-part="([^"]+)">', parts)
    assert rows == ["A", "B", "rest"]
    # 40% of 10 numbers: 2 a variant, and the 6 others wait for the winner.
    recipients = re.findall(r'<td class="num">(\d+)</td><td class="num" data-figure="sent">', parts)
    assert recipients == ["2", "2", "6"]
    assert "the winner, once chosen" in parts
