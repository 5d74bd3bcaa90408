"""Help in the editor: compliance hints and their one-click fix, parts advice, the template's
count beside the preview's, the sample contact; the plan repeats the hints; the import form asks
for consent; keyword-reply campaigns read as "Automatic replies: STOP"."""

from __future__ import annotations

import html
import json

from sqlalchemy import update
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_editor_pages import (
    assert_allowed_by_the_content_security_policy,
    create_campaign,
    run_js,
    section,
)

from textcast.db import Database
from textcast.models import Campaign, CampaignKind, Role


def test_the_editor_has_the_hints_the_advice_and_labels_its_two_counts(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as client:
        page = client.get("/campaigns/new").text
    assert_allowed_by_the_content_security_policy(page)
    compliance = section(page, "compliance")
    assert "hidden" in compliance.split(">", 1)[0]  # until the API's answer says what lacks
    assert 'id="add-opt-out"' in compliance and "Add “Reply STOP to opt out”" in compliance
    assert "Advice only" in compliance
    assert '<span class="editor-counter-label">Template:</span>' in section(page, "counter")
    assert 'id="parts-advice"' in page and 'id="apply-advice"' in page
    assert 'id="replace-all-effect"' in page
    assert "Sample contact: Alex Morgan" in section(page, "preview-contact")


def test_the_plan_repeats_what_the_text_lacks_and_links_to_the_editor(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR, brand_name="Bloom") as client:
        bare = create_campaign(client, body="Spring sale today", recipients=["+12015550100"])
        fine = create_campaign(
            client, body="Bloom: spring sale. Reply STOP to opt out", recipients=["+12015550100"]
        )
        page = client.get(f"/campaigns/{bare}/plan").text
        plan = client.post(f"/api/v1/campaigns/{bare}/plan").json()
        clean = client.get(f"/campaigns/{fine}/plan").text
    hints = html.unescape(section(page, "plan-compliance"))
    assert "No opt-out wording" in hints and 'The brand name "Bloom" does not appear' in hints
    assert f'href="/campaigns/{bare}/edit"' in hints
    assert plan["compliance"][0].startswith("No opt-out wording")
    assert 'id="plan-compliance"' not in clean
    # Advice, not a refusal: the send button is on.
    assert "Send to 1 recipient" in page


def test_the_import_form_requires_the_consent_confirmation(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        page = client.get("/contacts/import").text
    form = section(page, "import-form")
    assert (
        '<input type="checkbox" id="import-consent" name="consent_confirmed" value="true" '
        "required" in form
    )
    assert "I confirm these contacts agreed to receive marketing texts from us" in form
    assert 'for="import-consent"' in form


def test_keyword_reply_campaigns_made_under_old_names_read_as_automatic_replies(
    signed_in: SignedIn, database_url: str
) -> None:
    with signed_in(Role.EDITOR) as client:
        reply = create_campaign(client, body="You are unsubscribed.", recipients=["+12015550100"])
        database = Database(database_url)
        with database.write() as session:
            session.execute(
                update(Campaign)
                .where(Campaign.id == reply)
                .values(name="Reply: opt_out", kind=CampaignKind.REPLY)
            )
        database.dispose()
        listed = client.get("/campaigns?all=true").text
        page = client.get(f"/campaigns/{reply}").text
    assert "Automatic replies: STOP" in listed and "Reply: opt_out" not in listed
    assert section(page, "campaign-name") == '<h1 id="campaign-name">Automatic replies: STOP</h1>'


def test_replace_all_says_what_it_does_to_the_parts() -> None:
    effects = run_js(
        "console.log(JSON.stringify(["
        "t.replaceAllEffect(2, {encoding: 'GSM-7', parts: 1, parts_saved: 1}),"
        "t.replaceAllEffect(1, {encoding: 'GSM-7', parts: 2, parts_saved: -1}),"
        "t.replaceAllEffect(2, {encoding: 'UCS-2', parts: 2, parts_saved: 0})]))"
    )
    assert effects[0] == {"label": "Replace all: GSM-7, 1 part instead of 2", "note": ""}
    assert effects[1]["label"] == "Replace all (makes it longer)"
    assert "2 parts instead of 1" in effects[1]["note"]
    assert effects[2]["label"] == "Replace all (saves no part)"
    assert effects[2]["note"].startswith("Replacing them all keeps 2 parts")


def test_the_opt_out_wording_is_appended_as_a_sentence() -> None:
    bodies = ["Sale today", "Sale today!  ", "", "Sale."]
    appended = run_js(
        f"console.log(JSON.stringify({json.dumps(bodies)}.map("
        "b => t.appendSentence(b, ' Reply STOP to opt out'))))"
    )
    assert appended == [
        "Sale today. Reply STOP to opt out",
        "Sale today! Reply STOP to opt out",
        "Reply STOP to opt out",
        "Sale. Reply STOP to opt out",
    ]
