"""Plan and launch over the same audience evaluation: personalisation, exclusions, cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.audience import contacts
from textcast.domain.campaigns import planning
from textcast.domain.errors import Conflict, InvalidInput
from textcast.models import ContactStatus, Link, Message, MessageStatus
from textcast.runtime import sending_policy

NOON = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York, 09:00 in Los Angeles


def _policy(**settings: Any) -> planning.Policy:
    return sending_policy(load_settings(secret_key="k" * 32, **settings))


def _contact(database: Database, phone: str, status: str | None = None, **fields: Any) -> None:
    with database.write() as session:
        contact = contacts.create_contact(
            session, contacts.ContactDraft(phone=phone, **fields), "US", "test", b"k" * 32
        )
        if status is not None:
            contact.status = ContactStatus(status)


def _draft(body: str, recipients: list[str], **options: Any) -> campaigns.CampaignDraft:
    return campaigns.CampaignDraft(name="c", body=body, recipients=recipients, **options)


def test_merge_fields_are_validated_against_known_fields(database: Database) -> None:
    _contact(database, "+12015550100", first_name="Ann", attributes={"plan": "gold"})
    with database.write() as session, pytest.raises(InvalidInput) as caught:
        campaigns.create_campaign(session, _draft("{{ plan }} {{ shoe }}", ["+12015550100"]), "US")
    assert [p.field for p in caught.value.problems] == ["body"]
    assert "'shoe'" in caught.value.problems[0].message


def test_plan_counts_exclusions_parts_and_cost_and_launch_does_the_same(
    database: Database,
) -> None:
    _contact(database, "+12015550100", first_name="Ann")
    _contact(database, "+12015550101", first_name="Bob")
    _contact(database, "+12015550102")  # no first name: excluded, no default
    _contact(database, "+12015550103", first_name="Cy", status="unsubscribed")
    body = "Hi {{ first_name }}, spring sale \u201ctoday\u201d \u2013 20% off"
    audience = ["+12015550100", "+12015550101", "+12015550102", "+12015550103"]
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, _draft(body, audience, smart_encoding=True), "US"
        )
    policy = _policy(prices={"US": 0.01})
    with database.read() as session:
        result = planning.plan(session, campaign, policy, NOON)
    totals = result.totals
    assert totals.recipients == 2
    assert dict(totals.excluded) == {"missing_merge_field": 1, "opted_out": 1}
    assert totals.encodings == {"GSM-7": 2}  # smart encoding replaced the quotes and dash
    assert totals.parts == 2 and totals.cost == pytest.approx(0.02)
    assert [s.text for s in totals.sample] == [
        'Hi Ann, spring sale "today" - 20% off',
        'Hi Bob, spring sale "today" - 20% off',
    ]
    with database.write() as session:
        campaigns.launch_campaign(session, campaign.id, policy, now=NOON)
    with database.read() as session:
        rows = session.execute(
            select(Message.phone, Message.status, Message.error, Message.variables).order_by(
                Message.phone
            )
        ).all()
    assert [(r.status, r.error, r.variables) for r in rows] == [
        (MessageStatus.QUEUED, None, {"first_name": "Ann"}),
        (MessageStatus.QUEUED, None, {"first_name": "Bob"}),
        (MessageStatus.SKIPPED, "missing_merge_field", None),
        (MessageStatus.SKIPPED, "opted_out", None),
    ]


def test_launch_refuses_an_estimate_over_the_budget_and_writes_nothing(
    database: Database,
) -> None:
    recipients = [f"+1201555{i:04d}" for i in range(100)]
    with database.write() as session:
        campaign = campaigns.create_campaign(session, _draft("Sale", recipients, budget=0.5), "US")
    with pytest.raises(Conflict, match="budget"), database.write() as session:
        campaigns.launch_campaign(session, campaign.id, _policy(prices={"US": 0.01}), now=NOON)
    with database.read() as session:
        assert session.scalar(select(Message.id)) is None
        assert campaigns.get_campaign(session, campaign.id).status == "draft"


def test_local_send_time_defers_each_recipient_to_their_own_ten_oclock(
    database: Database,
) -> None:
    _contact(database, "+12015550100", time_zone="America/New_York")
    _contact(database, "+14155550100", time_zone="America/Los_Angeles")
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, _draft("Sale", ["+12015550100", "+14155550100"], local_send_time="10:00"), "US"
        )
        campaigns.launch_campaign(
            session,
            campaign.id,
            _policy(
                quiet_hours="08:00-21:00",
                quiet_hours_rules={
                    "US": "08:00-21:00",
                    "US-FL": "08:00-20:00",
                    "US-OK": "08:00-20:00",
                },
            ),
            now=NOON,
        )
    with database.read() as session:
        held = {p: t for p, t in session.execute(select(Message.phone, Message.not_before))}
        statuses = set(session.scalars(select(Message.status)))
    assert statuses == {MessageStatus.DEFERRED}
    assert held["+14155550100"] == NOON + timedelta(hours=1)  # 10:00 in Los Angeles
    assert held["+12015550100"] == NOON + timedelta(hours=22)  # 10:00 tomorrow in New York


def test_short_links_are_made_per_recipient(database: Database) -> None:
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session,
            _draft("Shop https://shop.example/spring now", ["+12015550100", "+12015550101"]),
            "US",
        )
        campaigns.launch_campaign(
            session, campaign.id, _policy(short_link_base="https://go.example"), now=NOON
        )
    with database.read() as session:
        variables = list(session.scalars(select(Message.variables)))
        links = session.scalars(select(Link)).all()
    assert {link.url for link in links} == {"https://shop.example/spring"}
    assert sorted(v["link.0"] for v in variables) == sorted(
        f"https://go.example/l/{link.code}" for link in links
    )


def test_a_draft_s_plan_counts_the_short_links_launch_will_send(database: Database) -> None:
    long_url = "https://shop.example/spring/" + "collection/" * 12
    policy = _policy(short_link_base="https://go.example")
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, _draft(f"Shop {long_url} now", ["+12015550100"]), "US"
        )
    with database.read() as session:
        draft = campaigns.get_campaign(session, campaign.id)
        planned = planning.plan(session, draft, policy, NOON)
        unshortened = planning.plan(session, draft, _policy(), NOON)
    # The long URL alone would take two parts; its short link fits the text in one.
    assert (planned.totals.parts, unshortened.totals.parts) == (1, 2)
    assert long_url not in planned.totals.sample[0].text


def test_the_frequency_cap_leaves_out_numbers_texted_enough_lately(database: Database) -> None:
    policy = _policy(frequency_cap=1, frequency_window_hours=24)
    with database.write() as session:
        first = campaigns.create_campaign(session, _draft("One", ["+12015550100"]), "US")
        campaigns.launch_campaign(session, first.id, policy, now=NOON)
        session.execute(update(Message).values(sent_at=NOON - timedelta(hours=2)))
        second = campaigns.create_campaign(
            session, _draft("Two", ["+12015550100", "+12015550101"]), "US"
        )
    with database.read() as session:
        result = planning.plan(session, campaigns.get_campaign(session, second.id), policy, NOON)
    assert dict(result.totals.excluded) == {"frequency_cap": 1}
    with database.write() as session:
        campaigns.launch_campaign(session, second.id, policy, now=NOON)
    with database.read() as session:
        skipped = session.execute(
            select(Message.phone, Message.error).where(
                Message.campaign_id == second.id, Message.status == MessageStatus.SKIPPED
            )
        ).all()
    assert [tuple(row) for row in skipped] == [("+12015550100", "frequency_cap")]
    later = _policy(frequency_cap=1, frequency_window_hours=1)
    with database.read() as session:
        again = planning.plan(session, campaigns.get_campaign(session, first.id), later, NOON)
    assert "frequency_cap" not in again.totals.excluded


def test_a_number_is_timed_where_it_is_though_priced_by_its_calling_code(
    database: Database,
) -> None:
    """A Toronto number that is no contact costs the US price (+1), but its hour is judged in
    Toronto, as the dispatcher judges it: not in every US time zone at once."""
    with database.write() as session:
        campaign = campaigns.create_campaign(session, _draft("Sale", ["+14165550100"]), "US")
    with database.read() as session:
        plan = planning.plan(session, campaigns.get_campaign(session, campaign.id), _policy(), NOON)
    assert list(plan.totals.by_country) == ["US"]
    assert [(zone.zones, zone.country) for zone in plan.totals.zones] == [
        (("America/Toronto",), "CA")
    ]
    assert plan.totals.deferred == 0  # noon in Toronto, though 06:00 in Honolulu
