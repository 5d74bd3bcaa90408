"""The audience's use cases: each commits its change, with its audit entry where the act has
one (erasing, changing or deleting a segment); a refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.factories import numbers

from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import consent
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.errors import Conflict, InvalidInput, NotFound
from textcast.models import (
    ConsentEvent,
    Contact,
    ContactStatus,
    InboundMessage,
    ListMember,
    Segment,
    utcnow,
)
from textcast.services import audience

SECRET = b"test-secret"
EDITOR = Actor("ed@example.com", None, "192.0.2.1")
FRANCE = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "FR"}]}
US = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "US"}]}


def trail(database: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with database.read() as session:
        entries = audit.entries(session, limit=1000)
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(entries)]


def add(database: Database, phone: str, **fields: object) -> Contact:
    draft = ContactDraft(phone, **fields)  # type: ignore[arg-type]
    return audience.create_contact(database, SECRET, draft, default_region="US", source="api")


def count(database: Database, table: type[object]) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_contacts_are_created_and_changed_without_audit_and_opted_out_and_in_with_it(
    database: Database,
) -> None:
    contact = add(database, numbers(1)[0], first_name="Ana", consent_evidence="the till")
    changed = audience.update_contact(
        database, EDITOR, contact.id, {"attributes": {"plan": "gold"}}
    )
    out = audience.opt_out(database, EDITOR, SECRET, contact.id, consent.Evidence("api", "asked"))
    assert out.status == ContactStatus.UNSUBSCRIBED
    back = audience.opt_in(database, EDITOR, SECRET, contact.id, consent.Evidence("api", "again"))
    assert back.status == ContactStatus.SUBSCRIBED
    assert changed.attributes == {"plan": "gold"}
    with database.read() as session:
        stored = session.get(Contact, contact.id)
        assert stored is not None
        assert (stored.first_name, stored.attributes) == ("Ana", {"plan": "gold"})
        assert stored.status == ContactStatus.SUBSCRIBED
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        assert [(e.kind, e.source, e.evidence) for e in events] == [
            ("opt_in", "api", "the till"),
            ("opt_out", "api", "asked"),
            ("opt_in", "api", "again"),
        ]
        ledger = [e.id for e in consent.history(session, contact.id)]
        # The ledger names who changed the consent through the API; creation is no one's.
        assert consent.authors(session, contact.id) == {
            ledger[1]: EDITOR.label,
            ledger[2]: EDITOR.label,
        }
    target = f"contact:{contact.id}"
    assert trail(database) == [
        (EDITOR.label, "contact.opt_out", target, {"consent_event": ledger[1]}),
        (EDITOR.label, "contact.opt_in", target, {"consent_event": ledger[2]}),
    ]


def test_refused_contact_changes_write_nothing(database: Database) -> None:
    phone = numbers(1)[0]
    contact = add(database, phone)
    with pytest.raises(Conflict):
        add(database, phone)
    with pytest.raises(InvalidInput):
        audience.update_contact(database, EDITOR, contact.id, {"country": "XX"})
    with pytest.raises(NotFound):
        audience.opt_out(database, EDITOR, SECRET, contact.id + 1, consent.Evidence("api"))
    with database.read() as session:
        stored = session.get(Contact, contact.id)
        assert stored is not None
        assert (stored.country, stored.status) == ("US", ContactStatus.SUBSCRIBED)
    assert count(database, Contact) == 1
    assert count(database, ConsentEvent) == 1  # the opt-in of its creation
    assert trail(database) == []  # the refused opt-out is not audited either


def test_a_transactional_consent_change_is_audited_with_its_event_or_writes_nothing(
    database: Database,
) -> None:
    contact = add(database, numbers(1)[0])
    audience.update_contact(database, EDITOR, contact.id, {"transactional_consent": False})
    with database.read() as session:
        [_, event] = consent.history(session, contact.id)
    assert (event.kind, event.purpose, event.source) == ("opt_out", "transactional", "api")
    target = f"contact:{contact.id}"
    assert trail(database) == [
        (
            EDITOR.label,
            consent.TRANSACTIONAL_ACTION,
            target,
            {"consent_event": event.id, "granted": False},
        )
    ]
    audience.opt_out(database, EDITOR, SECRET, contact.id, consent.Evidence("api", "asked"))
    with pytest.raises(InvalidInput):
        # A name change in the same request is not kept either.
        audience.update_contact(
            database, EDITOR, contact.id, {"first_name": "Bo", "transactional_consent": True}
        )
    with database.read() as session:
        stored = session.get_one(Contact, contact.id)
        assert (stored.first_name, stored.transactional_consent) == (None, False)
    assert count(database, ConsentEvent) == 3
    assert len(trail(database)) == 2


def test_erasing_a_contact_is_committed_and_audited(database: Database) -> None:
    contact = add(database, numbers(1)[0])
    erased = audience.erase_contact(database, EDITOR, SECRET, contact.id)
    assert not erased.kept_suppression
    assert count(database, Contact) == 0
    assert trail(database) == [(EDITOR.label, "contact.erase", f"contact:{contact.id}", {})]
    with pytest.raises(NotFound):
        audience.erase_contact(database, EDITOR, SECRET, contact.id)
    assert len(trail(database)) == 1


def test_lists_and_their_members(database: Database) -> None:
    first, second = (add(database, phone) for phone in numbers(2))
    created = audience.create_list(database, " VIP ")
    assert audience.add_members(database, created.id, [first.id, second.id]) == 2
    assert audience.add_members(database, created.id, [first.id]) == 0
    audience.remove_member(database, created.id, first.id)
    with database.read() as session:
        members = session.scalars(select(ListMember.contact_id))
        assert list(members) == [second.id]
    with pytest.raises(NotFound):
        audience.add_members(database, created.id + 1, [first.id])
    with pytest.raises(InvalidInput):
        audience.create_list(database, " ")
    assert count(database, ListMember) == 1
    assert trail(database) == []


def test_segments_changes_and_deletions_are_audited_and_creations_are_not(
    database: Database,
) -> None:
    segment = audience.create_segment(database, "France", FRANCE)
    renamed = audience.update_segment(database, EDITOR, segment.id, name="French")
    same = audience.update_segment(database, EDITOR, segment.id, name="French")
    both = audience.update_segment(database, audit.CLI, segment.id, name="US", rules=US)
    assert (renamed.name, same.name, both.name, both.rules) == ("French", "French", "US", US)
    audience.delete_segment(database, EDITOR, segment.id)
    assert count(database, Segment) == 0
    target = f"segment:{segment.id}"
    assert trail(database) == [
        (EDITOR.label, "segment.update", target, {"changed": ["name"]}),
        ("cli", "segment.update", target, {"changed": ["name", "rules"]}),
        (EDITOR.label, "segment.delete", target, {"name": "US"}),
    ]


def test_refused_segment_changes_write_nothing(database: Database) -> None:
    segment = audience.create_segment(database, "France", FRANCE)
    other = audience.create_segment(database, "US", US)
    with database.write() as session:
        draft = campaigns.CampaignDraft(name="Sale", body="Hi", segment_ids=[segment.id])
        campaigns.create_campaign(session, draft, "US")
    with pytest.raises(InvalidInput):
        audience.update_segment(database, EDITOR, segment.id, rules={"match": "some"})
    with pytest.raises(Conflict):
        audience.update_segment(database, EDITOR, segment.id, name="US")
    with pytest.raises(Conflict, match="draft campaign"):
        audience.delete_segment(database, EDITOR, segment.id)
    with pytest.raises(NotFound):
        audience.delete_segment(database, EDITOR, other.id + 1)
    with pytest.raises(InvalidInput):
        audience.create_segment(database, "Bad", {"match": "some"})
    with database.read() as session:
        stored = session.scalars(select(Segment).order_by(Segment.id))
        assert [(s.name, s.rules) for s in stored] == [("France", FRANCE), ("US", US)]
    assert trail(database) == []


def _text_from(database: Database, phone: str, n: int) -> int:
    with database.write() as session:
        message = InboundMessage(
            provider_id=f"mo-{n}",
            from_phone=phone,
            to="12017777777",
            body=f"hello {n}",
            received_at=utcnow(),
        )
        session.add(message)
        session.flush()
        return message.id


def test_an_unknown_sender_saved_as_a_contact_gets_its_texts(database: Database) -> None:
    phone, other = numbers(2)
    first, second = _text_from(database, phone, 1), _text_from(database, phone, 2)
    elsewhere = _text_from(database, other, 3)
    draft = ContactDraft("", first_name="Ana", consent_evidence="Texted us first")
    saved = audience.save_sender(database, SECRET, second, draft, default_region="US")
    assert (saved.phone, saved.first_name, saved.status) == (phone, "Ana", "subscribed")
    with database.read() as session:
        owners = {m.id: m.contact_id for m in session.scalars(select(InboundMessage))}
        events = [(e.kind, e.source, e.evidence) for e in consent.history(session, saved.id)]
    assert owners == {first: saved.id, second: saved.id, elsewhere: None}
    assert events == [("opt_in", "api", "Texted us first")]


def test_a_sender_saved_twice_or_unknown_is_refused_and_changes_nothing(
    database: Database,
) -> None:
    phone = numbers(1)[0]
    text = _text_from(database, phone, 1)
    audience.save_sender(database, SECRET, text, ContactDraft(""), default_region="US")
    with pytest.raises(Conflict):
        audience.save_sender(database, SECRET, text, ContactDraft(""), default_region="US")
    with pytest.raises(NotFound):
        audience.save_sender(database, SECRET, text + 1, ContactDraft(""), default_region="US")
    later = _text_from(database, phone, 2)  # a contact since: the inbox links it by number
    with pytest.raises(Conflict):
        audience.save_sender(database, SECRET, later, ContactDraft(""), default_region="US")
    assert count(database, Contact) == 1
    assert count(database, ConsentEvent) == 1
