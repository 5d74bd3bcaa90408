"""`/`: recent campaigns, the last 30 days' delivery rate per day, opt-outs and spend."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.factories import make_campaign, numbers
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ConsentEvent,
    ConsentKind,
    Contact,
    ContactStatus,
    Message,
    MessageStatus,
    Role,
)


def element(page: str, element_id: str) -> str:
    """The text of the element with this id (tags stripped)."""
    found = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert found is not None, element_id
    return re.sub(r"<[^>]+>", "", found[2]).strip()


def test_the_overview_sums_up_the_last_30_days(signed_in: SignedIn, database: Database) -> None:
    campaign = make_campaign(database, numbers(5), launch=True)
    now = datetime.now(UTC)
    with database.write() as session:
        ids = session.scalars(select(Message.id).order_by(Message.id)).all()
        for message_id, status, code in zip(
            ids,
            [MessageStatus.DELIVERED] * 3 + [MessageStatus.FAILED],
            [0, 0, 0, 34],
            strict=False,
        ):
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(status=status, status_code=code, sent_at=now, operator_status_at=now)
            )
        # The budget ledger (committed) is not the spend: 4 sent parts at 0.375 are.
        session.execute(update(Campaign).values(spent=9.0))
        contact = Contact(phone=numbers(1)[0], attributes={}, status=ContactStatus.UNSUBSCRIBED)
        session.add(contact)
        session.flush()
        session.add(ConsentEvent(contact_id=contact.id, kind=ConsentKind.OPT_OUT, source="keyword"))

    with signed_in(Role.VIEWER, price_currency="EUR", prices={"US": 0.375}) as client:
        page = client.get("/").text
        spent = client.get(f"/api/v1/campaigns/{campaign.id}").json()["figures"]["spent"]

    assert element(page, "delivery-rate-30d") == "75.0%"
    assert element(page, "opt-outs-30d") == "1"
    assert "STOP replies: 1" in page
    assert element(page, "spend-30d") == "1.50 EUR" and spent == 1.5
    chart = page[page.index('id="delivery-chart"') :]
    assert "<title>" in chart and ": 75% (3 of 4 delivered)</title>" in chart
    assert "75.0% overall, 3 of 4 final outcomes delivered" in chart
    assert f'href="/campaigns/{campaign.id}"' in page
    assert 'id="recent-campaigns"' in page
    assert '<span class="status status-sending">sending</span>' in page


def test_an_empty_overview_says_there_is_nothing_yet(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert 'id="no-campaigns"' in page.text
    assert "no final outcome yet" in element(page.text, "delivery-rate-30d")
    assert element(page.text, "spend-30d") == "0.00 USD"
    assert "No message reached a final outcome in the last 30 days." in page.text


def test_only_writers_are_offered_a_new_campaign(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        assert 'href="/campaigns/new"' not in client.get("/").text
    with signed_in(Role.EDITOR) as client:
        assert 'href="/campaigns/new"' in client.get("/").text


def test_a_new_installation_has_a_checklist_of_first_steps(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in(Role.EDITOR) as client:
        page = client.get("/").text
    assert element(page, "first-run-count") == "0 of 4 steps done"
    # The simulator is in use: Sinch is not connected, and the step says how.
    sinch = element(page, "step-sinch")
    assert "built-in simulator" in sinch and "SINCH_API_TOKEN" in sinch and "done" not in sinch
    assert 'href="/settings#sinch"' in page
    assert 'href="/contacts/import"' in page
    assert "Upload a CSV file" in element(page, "step-contacts")

    # A contact and a draft: the test step leads to the draft's plan, which sends tests.
    draft = make_campaign(database, numbers(2))
    with database.write() as session:
        session.add(Contact(phone=numbers(1)[0], attributes={}))
    with signed_in(Role.EDITOR) as client:
        page = client.get("/").text
    assert element(page, "first-run-count") == "1 of 4 steps done"
    assert "done" in element(page, "step-contacts")
    assert f'href="/campaigns/{draft.id}/plan#test-form"' in page


def test_the_checklist_goes_once_every_step_is_done(
    signed_in: SignedIn, database: Database
) -> None:
    make_campaign(database, numbers(2), launch=True)
    with database.write() as session:
        session.add(Contact(phone=numbers(1)[0], attributes={}))
        test = make_test_campaign(session)
        session.add(test)
    # With the simulator, connecting Sinch is a choice that does not keep the list shown.
    with signed_in(Role.EDITOR) as client:
        assert 'id="first-run"' not in client.get("/").text
    credentials = {"sinch_service_plan_id": "plan", "sinch_api_token": "token"}
    with signed_in(Role.EDITOR, **credentials, sinch_webhook_secret="secret") as client:
        assert 'id="first-run"' not in client.get("/").text


def test_the_checklist_shows_its_sinch_step_done_with_credentials(
    signed_in: SignedIn,
) -> None:
    credentials = {"sinch_service_plan_id": "plan", "sinch_api_token": "token"}
    with signed_in(Role.EDITOR, **credentials, sinch_webhook_secret="secret") as client:
        page = client.get("/").text
    assert "done" in element(page, "step-sinch")
    assert element(page, "first-run-count") == "1 of 4 steps done"


def test_readers_are_not_shown_steps_they_cannot_take(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        assert 'id="first-run"' not in client.get("/").text


def make_test_campaign(session: Session) -> Campaign:
    return Campaign(
        reference=new_reference(),
        name="Test of Spring",
        body="Spring sale",
        encoding="GSM-7",
        parts=1,
        kind=CampaignKind.TEST,
        status=CampaignStatus.COMPLETED,
    )
