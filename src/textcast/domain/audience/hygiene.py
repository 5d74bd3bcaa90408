"""List hygiene: numbers whose texts end in a permanent failure, again and again, become
`invalid`, so that no campaign pays for them any more.

A permanent failure is a final status that says a retry would fail the same way (the table
below, from Sinch's delivery-report codes, docs/sinch.md "Statuses and codes"). Each one
extends the contact's streak (`Contact.failure_streak`, with the message ids as evidence);
`INVALID_AFTER_FAILURES` of them in a row make a subscribed contact `invalid`, with a
`ContactInvalidation` saying why, with which messages, in which campaign. A delivered
message, or a text from the number, starts the streak over; temporary failures (Sinch's 404,
an expiry, an unknown status, a code this table does not name) neither count nor clear it.

Every campaign kind counts: a number that cannot receive a keyword reply or a confirmation
cannot receive marketing either. Only a subscribed contact becomes invalid: an opted-out one
stays opted out (restoring it must never subscribe it), and a number that is not a contact
has nothing to mark.

`record_failures` and `clear_streaks` are the webhook's hot path (`inbox.statuses`): a few
statements per group of delivery reports, never one per report.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Table,
    Update,
    any_,
    bindparam,
    insert,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from textcast.db import execute_on_sqlite, json_array
from textcast.domain.audience.contacts import get_contact
from textcast.domain.errors import Conflict
from textcast.models import (
    Contact,
    ContactInvalidation,
    ContactStatus,
    MessageStatus,
    utcnow,
)

EVIDENCE_LIMIT = 20
"""The message ids a streak keeps as evidence: the latest ones, for a number that keeps failing
(an opted-out number still gets keyword replies)."""

PERMANENT_STATUSES: dict[MessageStatus, str] = {
    MessageStatus.DELETED: "deleted by the recipient's network: an invalid or deactivated number",
}
"""Final statuses that are permanent whatever their code."""

PERMANENT_CODES: dict[int, tuple[frozenset[MessageStatus], str]] = {
    402: (
        frozenset({MessageStatus.ABORTED, MessageStatus.FAILED, MessageStatus.REJECTED}),
        "unroutable: the network refused it, and a retry would fail the same way",
    ),
    11: (
        frozenset({MessageStatus.FAILED, MessageStatus.REJECTED}),
        "invalid destination number (the operator's SMPP error 0x0B)",
    ),
}
"""Codes that are permanent with these statuses, and what they mean.

Not here, so never counted: 403 (Sinch's internal error), 404 (temporary failure: a retry may
succeed), 405, 410 and 411 (our parameters, sender or length), 406 (expired inside Sinch), 407
(cancelled by us), 408 (rejected inside Sinch), 412 and 413 (the account: region not
provisioned, blocked), the MMS codes 414 to 418, and every other operator code, whose meaning
Sinch does not document: a failure we cannot read is treated as temporary."""


def permanent_failure(status: MessageStatus, code: int | None) -> str | None:
    """What a final status and code say about the number, when a retry would fail the same
    way; None when it is not a permanent failure."""
    if (meaning := PERMANENT_STATUSES.get(status)) is not None:
        return meaning
    if code is None or code not in PERMANENT_CODES:
        return None
    statuses, meaning = PERMANENT_CODES[code]
    return meaning if status in statuses else None


def could_be_permanent(status: MessageStatus) -> bool:
    """Whether reports of this status need looking at (the hot path skips the others)."""
    return status in PERMANENT_STATUSES or any(status in s for s, _ in PERMANENT_CODES.values())


@dataclass(frozen=True, slots=True)
class Failure:
    """A message that just reached a permanent failure."""

    message_id: int
    phone: str
    campaign_id: int
    status: MessageStatus
    code: int | None


def reason_for(failures: int, last: Failure) -> str:
    """Why a contact became invalid, in words, with the code."""
    meaning = permanent_failure(last.status, last.code) or "a permanent failure"
    code = "" if last.code is None else f", code {last.code}"
    return (
        f"{failures} permanent delivery failures in a row; the last: "
        f"{last.status.value}{code} ({meaning})"
    )


def record_failures(connection: Connection, failures: Sequence[Failure], invalid_after: int) -> int:
    """Extend the streak of each failed number's contact; those reaching `invalid_after`
    become invalid. Returns how many did. Three statements for the whole group (a read, the
    contacts' update and the invalidations' insert), on a group that has failures at all."""
    if not failures or invalid_after <= 0:
        return 0
    by_phone: dict[str, list[Failure]] = {}
    for failure in sorted(failures, key=lambda f: f.message_id):
        by_phone.setdefault(failure.phone, []).append(failure)
    table = _table(Contact)
    # Locked in id order, so that two writers extending the same streaks take turns.
    rows = connection.execute(
        select(
            table.c.id,
            table.c.phone,
            table.c.status,
            table.c.failure_streak,
            table.c.failed_message_ids,
        )
        .where(table.c.phone.in_(list(by_phone)))
        .order_by(table.c.id)
        .with_for_update()
    ).all()
    now = utcnow()
    changes: list[dict[str, Any]] = []
    invalidations: list[dict[str, Any]] = []
    for contact_id, phone, status, streak, evidence in rows:
        known = list(evidence or [])
        new = [f for f in by_phone[phone] if f.message_id not in known]
        if not new:
            continue  # a report for a message already counted
        streak = (streak or 0) + len(new)
        known = (known + [f.message_id for f in new])[-EVIDENCE_LIMIT:]
        tipped = streak >= invalid_after and status == ContactStatus.SUBSCRIBED
        changes.append(
            {
                "b_id": contact_id,
                "b_streak": streak,
                "b_evidence": known,
                "b_status": ContactStatus.INVALID.value if tipped else status,
                "b_now": now,
            }
        )
        if tipped:
            invalidations.append(
                {
                    "contact_id": contact_id,
                    "campaign_id": new[-1].campaign_id,
                    "reason": reason_for(streak, new[-1]),
                    "message_ids": known[-streak:],
                    "created_at": now,
                }
            )
    if changes:
        connection.execute(_extend_statement(), changes)
    if invalidations:
        connection.execute(insert(_table(ContactInvalidation)), invalidations)
    return len(invalidations)


def clear_streaks(connection: Connection, phones: Iterable[str]) -> None:
    """Delivered to these numbers: their contacts' streaks start over. One statement, which
    finds each number by its unique index and changes only the rows with a streak."""
    numbers = list(phones)
    if not numbers:
        return
    if connection.dialect.name == "sqlite":
        statement = _clear_from_json_statement()
        execute_on_sqlite(connection, statement, phones=json.dumps(numbers), now=utcnow())
    else:
        connection.execute(_clear_any_statement(), {"phones": numbers, "now": utcnow()})


def clear_streak(contact: Contact) -> None:
    """A text from the number: it can be reached."""
    if contact.failure_streak:
        contact.failure_streak = 0
        contact.failed_message_ids = None


# -- the operator's side ------------------------------------------------------------------------


def latest_invalidation(session: Session, contact_id: int) -> ContactInvalidation | None:
    return session.scalars(
        select(ContactInvalidation)
        .where(ContactInvalidation.contact_id == contact_id)
        .order_by(ContactInvalidation.id.desc())
        .limit(1)
    ).first()


def restore_contact(
    session: Session, contact_id: int, by: str
) -> tuple[Contact, ContactInvalidation | None]:
    """An operator says the number works: subscribed again (it was only ever made invalid from
    subscribed), its streak cleared, its invalidation marked restored `by` whom."""
    contact = get_contact(session, contact_id)
    if contact.status != ContactStatus.INVALID:
        raise Conflict(
            f"this contact is {contact.status}, not invalid: only an invalid number can be restored"
        )
    contact.status = ContactStatus.SUBSCRIBED
    contact.failure_streak = 0
    contact.failed_message_ids = None
    invalidation = latest_invalidation(session, contact_id)
    if invalidation is not None and invalidation.restored_at is None:
        invalidation.restored_at = utcnow()
        invalidation.restored_by = by[:300]
    return contact, invalidation


def invalidations_of(session: Session, contact_id: int) -> list[ContactInvalidation]:
    """Every time list hygiene made this contact invalid, newest first."""
    return list(
        session.scalars(
            select(ContactInvalidation)
            .where(ContactInvalidation.contact_id == contact_id)
            .order_by(ContactInvalidation.id.desc())
        )
    )


def invalidated_by(session: Session, campaign_id: int) -> list[tuple[ContactInvalidation, Contact]]:
    """The numbers this campaign's failures made invalid, newest first, with their contact."""
    rows = session.execute(
        select(ContactInvalidation, Contact)
        .join(Contact, Contact.id == ContactInvalidation.contact_id)
        .where(ContactInvalidation.campaign_id == campaign_id)
        .order_by(ContactInvalidation.id.desc())
    )
    return [(invalidation, contact) for invalidation, contact in rows]


# -- statements, built once ---------------------------------------------------------------------


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


@functools.cache
def _extend_statement() -> Update:
    table = _table(Contact)
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            failure_streak=bindparam("b_streak"),
            failed_message_ids=bindparam("b_evidence", type_=table.c.failed_message_ids.type),
            status=bindparam("b_status"),
            updated_at=bindparam("b_now", type_=table.c.updated_at.type),
        )
    )


def _cleared(statement: Update) -> Update:
    table = _table(Contact)
    # Literals, not parameters: the SQLite statement binds its one JSON parameter alone.
    zero: ColumnElement[int] = literal_column("0")
    return statement.where(table.c.failure_streak > zero).values(
        failure_streak=zero,
        failed_message_ids=null(),
        updated_at=bindparam("now", type_=table.c.updated_at.type),
    )


@functools.cache
def _clear_from_json_statement() -> Update:
    table = _table(Contact)
    phones = json_array("phones")
    return _cleared(update(table).where(table.c.phone.in_(select(phones.c.value))))


@functools.cache
def _clear_any_statement() -> Update:
    table = _table(Contact)
    phones = bindparam("phones", type_=postgresql.ARRAY(String))
    return _cleared(update(table).where(table.c.phone == any_(phones)))
