"""The audience's use cases: add, change and erase contacts, opt them out and back in, save an
unknown sender as a contact, and manage lists and segments. Each runs in one transaction, with
its audit entry where the act has one (erasing a contact, a person's change of someone's
consent, changing or deleting a segment).

`secret` is the instance's key: numbers that opted out are kept as hashes keyed with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import flows
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import consent, contacts, erasure, lists, segments
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.errors import Conflict
from textcast.domain.inbox import inbound, threads
from textcast.models import Contact, ContactList, ContactStatus, Segment

# -- contacts -----------------------------------------------------------------------------------


def create_contact(
    database: Database,
    secret: bytes,
    draft: ContactDraft,
    *,
    default_region: str,
    source: str,
    list_ids: Sequence[int] = (),
) -> Contact:
    """`source` says where its consent came from (`api`, `cli`). A subscribed contact (one
    whose number never said STOP) starts the flows of a subscription, and of the lists in
    `list_ids`, which it joins (as does `save_sender`'s)."""
    with database.write() as session:
        contact = contacts.create_contact(session, draft, default_region, source, secret)
        for list_id in dict.fromkeys(list_ids):
            lists.add_members(session, list_id, [contact.id])
        _start_subscription_flows(session, contact, list(dict.fromkeys(list_ids)))
        return contact


def update_contact(
    database: Database, actor: Actor, contact_id: int, changes: dict[str, Any]
) -> Contact:
    """Only the fields in `changes` (see `contacts.update_contact`). A change of
    `transactional_consent` goes into the consent ledger, audited with its event like an
    opt-out, so the ledger can say who made it."""
    changes = dict(changes)
    transactional = changes.pop("transactional_consent", None)
    with database.write() as session:
        contact = contacts.update_contact(session, contact_id, changes)
        if transactional is None:
            return contact
        granted = bool(transactional)
        said = "given" if granted else "withdrawn"
        evidence = consent.Evidence("api", f"transactional consent {said}")
        event = consent.set_transactional(session, contact, granted, evidence)
        if event is not None:
            session.flush()
            target = f"contact:{contact_id}"
            audit.record(
                session,
                actor,
                consent.TRANSACTIONAL_ACTION,
                target,
                consent_event=event.id,
                granted=granted,
            )
    return contact


def erase_contact(
    database: Database, actor: Actor, secret: bytes, contact_id: int
) -> erasure.Erased:
    """The contact's personal data, erased everywhere; an opt-out's keyed hash stays."""
    with database.write() as session:
        erased = erasure.erase_contact(session, secret, contact_id)
        audit.record(session, actor, "contact.erase", f"contact:{contact_id}")
    return erased


def opt_out(
    database: Database, actor: Actor, secret: bytes, contact_id: int, evidence: consent.Evidence
) -> Contact:
    """Unsubscribed now: queued messages of running campaigns are skipped too. Audited with
    the consent event it recorded, so the ledger can say who did it."""
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        event = consent.opt_out(session, secret, contact, evidence)
        flows.end_runs(session, contact_ids=[contact_id], reason="unsubscribed by a user")
        session.flush()
        target = f"contact:{contact_id}"
        audit.record(session, actor, consent.OPT_OUT_ACTION, target, consent_event=event.id)
    return contact


def opt_in(
    database: Database, actor: Actor, secret: bytes, contact_id: int, evidence: consent.Evidence
) -> Contact:
    """Subscribed again, on the person's request (the evidence says how); audited as opt_out."""
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        event = consent.opt_in(session, secret, contact, evidence)
        session.flush()
        target = f"contact:{contact_id}"
        audit.record(session, actor, consent.OPT_IN_ACTION, target, consent_event=event.id)
    return contact


def save_sender(
    database: Database,
    secret: bytes,
    inbound_id: int,
    draft: ContactDraft,
    *,
    default_region: str,
) -> Contact:
    """A contact for the unknown number that sent this text, with the consent evidence the
    draft carries (its number is the sender's); that number's texts become the contact's."""
    with database.write() as session:
        message = inbound.get_inbound(session, inbound_id)
        if message.contact_id is not None:
            raise Conflict("this text's sender is already a contact")
        contact = contacts.create_contact(
            session,
            dataclasses.replace(draft, phone=message.from_phone),
            default_region,
            "api",
            secret,
        )
        _link_sender(session, contact)
    return contact


def save_thread_sender(
    database: Database,
    secret: bytes,
    conversation_id: int,
    draft: ContactDraft,
    *,
    default_region: str,
) -> Contact:
    """As `save_sender`, from the conversation's number: a thread an unknown sender opened."""
    with database.write() as session:
        conversation = threads.get_conversation(session, conversation_id)
        if contacts.find_by_phone(session, conversation.phone) is not None:
            raise Conflict("this conversation's number is already a contact")
        contact = contacts.create_contact(
            session,
            dataclasses.replace(draft, phone=conversation.phone),
            default_region,
            "api",
            secret,
        )
        _link_sender(session, contact)
    return contact


def _link_sender(session: Session, contact: Contact) -> None:
    """The number's texts and thread become the new contact's, who has subscribed."""
    inbound.link_sender(session, contact.phone, contact.id)
    _start_subscription_flows(session, contact, [])


def _start_subscription_flows(session: Session, contact: Contact, list_ids: list[int]) -> None:
    """A contact created subscribed (not a number that once said STOP) has subscribed."""
    if contact.status == ContactStatus.SUBSCRIBED:
        flows.on_subscribed(session, flows.Entrant(contact.id, contact.phone), list_ids)


# -- lists --------------------------------------------------------------------------------------


def create_list(database: Database, name: str) -> ContactList:
    with database.write() as session:
        return lists.create_list(session, name)


def add_members(database: Database, list_id: int, contact_ids: Sequence[int]) -> int:
    """How many of the contacts were not members yet. Those, when subscribed, start the
    flows that start on a subscription to this list."""
    with database.write() as session:
        joined = lists.join_list(session, list_id, contact_ids)
        flows.on_list_joined(session, list_id, joined)
        return len(joined)


def remove_member(database: Database, list_id: int, contact_id: int) -> None:
    with database.write() as session:
        lists.remove_member(session, list_id, contact_id)


# -- segments -----------------------------------------------------------------------------------


def create_segment(database: Database, name: str, rules: Any) -> Segment:
    with database.write() as session:
        return segments.create_segment(session, name, rules)


def update_segment(
    database: Database,
    actor: Actor,
    segment_id: int,
    *,
    name: str | None = None,
    rules: Any = None,
) -> Segment:
    """A new name, new rules, or both (None leaves one as it is); audited when either changed."""
    with database.write() as session:
        updated = segments.update_segment(session, segment_id, name=name, rules=rules)
        if updated.changed:
            target = f"segment:{segment_id}"
            audit.record(session, actor, "segment.update", target, changed=updated.changed)
    return updated.segment


def delete_segment(database: Database, actor: Actor, segment_id: int) -> None:
    """Refused (Conflict) while draft campaigns use it."""
    with database.write() as session:
        deleted = segments.delete_segment(session, segment_id)
        audit.record(session, actor, "segment.delete", f"segment:{segment_id}", name=deleted.name)
