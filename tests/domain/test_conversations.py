from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.domain.inbox import conversations
from textcast.domain.inbox.inbound import InboxFilter
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Contact,
    InboundMessage,
    Message,
    MessageStatus,
)

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
ANA, BEN = numbers(2)


def campaign(session: Session, name: str, recipients: list[str], **values: object) -> Campaign:
    made = Campaign(
        reference=new_reference(),
        name=name,
        body="Sale today",
        encoding="GSM-7",
        parts=1,
        status=CampaignStatus.COMPLETED,
        **values,
    )
    session.add(made)
    session.flush()
    session.add_all(
        Message(campaign_id=made.id, phone=phone, parts=1, status=MessageStatus.DELIVERED)
        for phone in recipients
    )
    session.flush()
    return made


def text(session: Session, phone: str, body: str, **values: object) -> InboundMessage:
    message = InboundMessage(
        provider_id=f"mo-{phone}-{body}",
        from_phone=phone,
        to="12017777777",
        body=body,
        received_at=T0 + timedelta(minutes=len(body)),
        **values,
    )
    session.add(message)
    session.flush()
    return message


def test_messages_sent_to_a_number_come_newest_first_with_their_campaign(
    database: Database,
) -> None:
    with database.write() as session:
        spring = campaign(session, "Spring", [ANA, BEN])
        reply = campaign(session, "Reply: opt_out", [ANA], kind=CampaignKind.REPLY)
        campaign(session, "Ben only", [BEN])
    with database.read() as session:
        sent = conversations.list_sent_to(session, ANA)
    assert [(m.phone, c.id) for m, c in sent] == [(ANA, reply.id), (ANA, spring.id)]
    with database.read() as session:
        assert len(conversations.list_sent_to(session, ANA, limit=1)) == 1


def test_texts_from_a_number_count_even_from_before_its_contact_existed(
    database: Database,
) -> None:
    with database.write() as session:
        spring = campaign(session, "Spring", [ANA])
        text(session, ANA, "hi")  # no contact yet
        text(session, ANA, "see you there", campaign_id=spring.id)
        text(session, BEN, "not Ana's")
    with database.read() as session:
        received = conversations.list_received_from(session, ANA)
    assert [(m.body, c.name if c else None) for m, c in received] == [
        ("see you there", "Spring"),
        ("hi", None),
    ]


def test_the_inbox_brings_each_texts_contact_and_campaign(database: Database) -> None:
    with database.write() as session:
        ana = Contact(phone=ANA, first_name="Ana", attributes={})
        session.add(ana)
        session.flush()
        spring = campaign(session, "Spring", [ANA])
        campaign(session, "Unanswered", [BEN])
        text(session, ANA, "yes please", contact_id=ana.id, campaign_id=spring.id)
        text(session, BEN, "HELP", keyword="help")
    with database.read() as session:
        entries = conversations.list_inbox(session, InboxFilter())
        replies = conversations.list_inbox(session, InboxFilter(replies_only=True))
        answered = conversations.list_campaigns_replied_to(session)
    help_, reply = entries
    assert (help_.message.body, help_.contact, help_.campaign) == ("HELP", None, None)
    assert reply.contact is not None and reply.contact.first_name == "Ana"
    assert reply.campaign is not None and reply.campaign.name == "Spring"
    assert [e.message.body for e in replies] == ["yes please"]
    assert [c.name for c in answered] == ["Spring"]
