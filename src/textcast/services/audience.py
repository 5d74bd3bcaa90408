"""The audience's use cases: add, change and erase contacts, opt them out and back in, and
manage lists and segments. Each runs in one transaction, with its audit entry where the act has
one (erasing a contact, changing or deleting a segment).

`secret` is the instance's key: numbers that opted out are kept as hashes keyed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import consent, contacts, erasure, lists, segments
from textcast.domain.audience.contacts import ContactDraft
from textcast.models import Contact, ContactList, Segment

# -- contacts -----------------------------------------------------------------------------------


def create_contact(
    database: Database, secret: bytes, draft: ContactDraft, *, default_region: str, source: str
) -> Contact:
    """`source` says where its consent came from (`api`, `cli`)."""
    with database.write() as session:
        return contacts.create_contact(session, draft, default_region, source, secret)


def update_contact(database: Database, contact_id: int, changes: dict[str, Any]) -> Contact:
    """Only the fields in `changes` (see `contacts.update_contact`)."""
    with database.write() as session:
        return contacts.update_contact(session, contact_id, changes)


def erase_contact(
    database: Database, actor: Actor, secret: bytes, contact_id: int
) -> erasure.Erased:
    """The contact's personal data, erased everywhere; an opt-out's keyed hash stays."""
    with database.write() as session:
        erased = erasure.erase_contact(session, secret, contact_id)
        audit.record(session, actor, "contact.erase", f"contact:{contact_id}")
    return erased


def opt_out(
    database: Database, secret: bytes, contact_id: int, evidence: consent.Evidence
) -> Contact:
    """Unsubscribed now: queued messages of running campaigns are skipped too."""
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        consent.opt_out(session, secret, contact, evidence)
    return contact


def opt_in(
    database: Database, secret: bytes, contact_id: int, evidence: consent.Evidence
) -> Contact:
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        consent.opt_in(session, secret, contact, evidence)
    return contact


# -- lists --------------------------------------------------------------------------------------


def create_list(database: Database, name: str) -> ContactList:
    with database.write() as session:
        return lists.create_list(session, name)


def add_members(database: Database, list_id: int, contact_ids: Sequence[int]) -> int:
    """How many of the contacts were not members yet."""
    with database.write() as session:
        return lists.add_members(session, list_id, contact_ids)


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
