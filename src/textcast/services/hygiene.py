"""List hygiene's use cases: restore a number made invalid, and what a campaign invalidated."""

from __future__ import annotations

from dataclasses import dataclass

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import contacts, hygiene
from textcast.domain.campaigns.queries import get_campaign
from textcast.models import Contact, ContactInvalidation

RESTORE_ACTION = "contact.restore"


def restore_contact(database: Database, actor: Actor, contact_id: int) -> Contact:
    """Subscribed again after list hygiene made it invalid (409 for any other status);
    audited, and its invalidation says who restored it."""
    with database.write() as session:
        contact, invalidation = hygiene.restore_contact(session, contact_id, actor.label)
        audit.record(
            session,
            actor,
            RESTORE_ACTION,
            f"contact:{contact_id}",
            invalidation=invalidation.id if invalidation is not None else None,
        )
    return contact


@dataclass(frozen=True, slots=True)
class ContactHygiene:
    contact: Contact
    invalidations: list[ContactInvalidation]


def contact_hygiene(database: Database, contact_id: int) -> ContactHygiene:
    """A contact's failure streak and every invalidation (404 for a contact not there)."""
    with database.read() as session:
        contact = contacts.get_contact(session, contact_id)
        return ContactHygiene(contact, hygiene.invalidations_of(session, contact_id))


@dataclass(frozen=True, slots=True)
class Invalidated:
    invalidation: ContactInvalidation
    contact: Contact


def invalidated_by(database: Database, campaign_id: int) -> list[Invalidated]:
    """The numbers a campaign's failures made invalid (404 for a campaign that is not there)."""
    with database.read() as session:
        get_campaign(session, campaign_id)
        return [Invalidated(i, c) for i, c in hygiene.invalidated_by(session, campaign_id)]
