from datetime import timedelta

from sqlalchemy import select
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.audience import consent, contacts, suppressions
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.inbox.keywords import Keyword, KeywordRules
from textcast.domain.inbox.replies import ReplyPolicy, handle_inbound
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Contact,
    ContactStatus,
    InboundMessage,
    Message,
    utcnow,
)

KEY = b"test-key"
POLICY = ReplyPolicy(
    rules=KeywordRules.from_csv("STOP,END", "START", "HELP"),
    texts={Keyword.OPT_OUT: "Bye", Keyword.OPT_IN: "Welcome back", Keyword.HELP: "Help: x@y.z"},
    period=timedelta(hours=24),
)
PHONE = numbers(1)[0]


def _inbound(database: Database, body: str, n: int = 0) -> Keyword | None:
    with database.write() as session:
        message = InboundMessage(
            provider_id=f"MO{n}-{body}",
            from_phone=PHONE,
            to="12017777777",
            body=body,
            received_at=utcnow(),
        )
        session.add(message)
        session.flush()
        return handle_inbound(session, KEY, POLICY, message)


def _replies(database: Database) -> list[tuple[str, str]]:
    with database.read() as session:
        rows = session.execute(
            select(Campaign.body, Message.phone)
            .join(Message, Message.campaign_id == Campaign.id)
            .where(Campaign.kind == CampaignKind.REPLY, Campaign.status == CampaignStatus.SENDING)
            .order_by(Campaign.id)
        ).all()
    return [(body, phone) for body, phone in rows]


def _contact_status(database: Database) -> ContactStatus:
    with database.read() as session:
        found = contacts.list_contacts(session, contacts.ContactFilter(search=PHONE))
    return found[0].status


def test_stop_unsubscribes_suppresses_and_confirms_once_per_period(database: Database) -> None:
    with database.write() as session:
        contacts.create_contact(session, ContactDraft(PHONE), "US", source="api", secret=KEY)
    assert _inbound(database, " Stop. ") is Keyword.OPT_OUT
    assert _inbound(database, "end", n=1) is Keyword.OPT_OUT
    assert _contact_status(database) == ContactStatus.UNSUBSCRIBED
    with database.read() as session:
        assert suppressions.suppressed_among(session, KEY, [PHONE]) == {PHONE}
        events = consent.history(session, 1)
    assert [(e.kind, e.source, e.keyword) for e in events][-1] == ("opt_out", "keyword", "end")
    assert events[-1].inbound_message_id is not None
    assert _replies(database) == [("Bye", PHONE)]


def test_start_resubscribes_and_lifts_the_suppression(database: Database) -> None:
    _inbound(database, "STOP")
    assert _inbound(database, "start!", n=1) is Keyword.OPT_IN
    assert _contact_status(database) == ContactStatus.SUBSCRIBED
    with database.read() as session:
        assert suppressions.suppressed_among(session, KEY, [PHONE]) == set()
    assert _replies(database) == [("Bye", PHONE), ("Welcome back", PHONE)]


def test_help_answers_without_changing_consent(database: Database) -> None:
    with database.write() as session:
        contacts.create_contact(session, ContactDraft(PHONE), "US", source="api", secret=KEY)
    assert _inbound(database, "help?") is Keyword.HELP
    assert _contact_status(database) == ContactStatus.SUBSCRIBED
    assert _replies(database) == [("Help: x@y.z", PHONE)]


def test_a_stop_from_an_unknown_number_is_remembered(database: Database) -> None:
    _inbound(database, "STOP")
    assert _contact_status(database) == ContactStatus.UNSUBSCRIBED


def test_other_text_is_kept_as_a_reply_linked_to_the_contact(database: Database) -> None:
    with database.write() as session:
        contact = contacts.create_contact(
            session, ContactDraft(PHONE), "US", source="api", secret=KEY
        )
    assert _inbound(database, "Is the sale on tomorrow too?") is None
    assert _replies(database) == []
    with database.read() as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert stored.contact_id == contact.id


def test_a_stop_from_a_contact_no_one_can_text_is_honoured_without_an_answer(
    database: Database,
) -> None:
    landline = "+33142685300"  # kept from before numbers were checked, say
    with database.write() as session:
        session.add(Contact(phone=landline, attributes={}, status=ContactStatus.SUBSCRIBED))
        message = InboundMessage(
            provider_id="MO-landline",
            from_phone=landline,
            to="1",
            body="STOP",
            received_at=utcnow(),
        )
        session.add(message)
        session.flush()
        assert handle_inbound(session, KEY, POLICY, message) is Keyword.OPT_OUT
    with database.read() as session:
        status = session.scalars(select(Contact.status).where(Contact.phone == landline)).one()
    assert status == ContactStatus.UNSUBSCRIBED
    assert _replies(database) == []
