"""List hygiene: which failures are permanent, streaks, invalidation, and what clears them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.factories import claim_batch, make_campaign, numbers

from textcast.db import Database
from textcast.domain import inbox, outbox
from textcast.domain.audience import hygiene
from textcast.domain.inbox.events import IncomingEvent, StatusReport
from textcast.domain.inbox.keywords import Keyword, KeywordRules
from textcast.domain.inbox.replies import ReplyPolicy, handle_inbound
from textcast.models import (
    Contact,
    ContactInvalidation,
    ContactStatus,
    InboundMessage,
    MessageStatus,
    WebhookKind,
    utcnow,
)

S = MessageStatus
POLICY = ReplyPolicy(
    rules=KeywordRules.from_csv("STOP", "START", "HELP"),
    texts={Keyword.OPT_OUT: "Bye", Keyword.OPT_IN: "Welcome back", Keyword.HELP: "Help"},
    period=timedelta(hours=24),
)


@pytest.mark.parametrize(
    ("status", "code"),
    [(S.DELETED, 0), (S.DELETED, 69), (S.ABORTED, 402), (S.FAILED, 11), (S.REJECTED, 11)],
)
def test_permanent_failures_say_a_retry_fails_the_same_way(status: S, code: int) -> None:
    assert hygiene.permanent_failure(status, code)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (S.ABORTED, 404),  # temporary: a retry may succeed
        (S.ABORTED, 403),  # Sinch's own trouble
        (S.ABORTED, 405),  # our parameters, not the number
        (S.ABORTED, 412),  # the account's region, not the number
        (S.ABORTED, 413),  # the account is blocked
        (S.ABORTED, 11),  # an SMPP code never comes with Aborted
        (S.FAILED, 69),  # submit failed: unknown cause
        (S.FAILED, 12345),  # a code nobody documented
        (S.EXPIRED, 3),
        (S.UNKNOWN, 0),
        (S.CANCELLED, 407),
        (S.DELIVERED, 0),
    ],
)
def test_temporary_or_unknown_failures_never_count(status: S, code: int) -> None:
    assert hygiene.permanent_failure(status, code) is None


def _sent(database: Database, count: int = 2) -> outbox.ClaimedBatch:
    """A campaign to `count` contacts, claimed and screened into one batch."""
    with database.write() as session:
        session.add_all(Contact(phone=n, country="US", attributes={}) for n in numbers(count))
    campaign = make_campaign(database, numbers(count), launch=True)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, b"test-key")
    assert batch is not None
    return batch


def _report(batch: outbox.ClaimedBatch, n: int, status: S, code: int) -> IncomingEvent:
    report = StatusReport(batch.recipients[n], status, code, batch.id, None)
    return IncomingEvent(
        WebhookKind.DELIVERY_REPORT, f"{batch.id}:{n}:{status}:{code}", "{}", (report,)
    )


def _store(database: Database, *events: IncomingEvent, invalid_after: int = 2) -> None:
    with database.write() as session:
        inbox.store_events(session.connection(), list(events), invalid_after=invalid_after)


def _contact(database: Database, phone: str) -> Contact:
    with database.read() as session:
        return session.scalars(select(Contact).where(Contact.phone == phone)).one()


def test_permanent_failures_in_a_row_make_a_contact_invalid_with_the_evidence(
    database: Database,
) -> None:
    first, second = _sent(database), None
    _store(database, _report(first, 0, S.DELETED, 0), _report(first, 1, S.ABORTED, 404))
    assert _contact(database, first.recipients[0]).failure_streak == 1
    assert _contact(database, first.recipients[1]).failure_streak == 0
    campaign = make_campaign(database, numbers(2), launch=True)
    with database.write() as session:
        second = claim_batch(session, campaign.id, 1000, b"test-key")
    assert second is not None
    _store(database, _report(second, 0, S.FAILED, 11), _report(second, 1, S.ABORTED, 404))

    dead = _contact(database, first.recipients[0])
    assert dead.status == ContactStatus.INVALID
    assert _contact(database, first.recipients[1]).status == ContactStatus.SUBSCRIBED
    with database.read() as session:
        invalidation = session.scalars(select(ContactInvalidation)).one()
    assert invalidation.contact_id == dead.id
    assert invalidation.campaign_id == campaign.id
    assert len(invalidation.message_ids) == 2
    assert invalidation.reason == (
        "2 permanent delivery failures in a row; the last: failed, code 11 "
        "(invalid destination number (the operator's SMPP error 0x0B))"
    )


def test_a_repeated_report_of_the_same_failure_counts_once(database: Database) -> None:
    batch = _sent(database)
    _store(database, _report(batch, 0, S.DELETED, 0))
    again = _report(batch, 0, S.DELETED, 0)
    _store(database, IncomingEvent(again.kind, "another key", "{}", again.reports))
    assert _contact(database, batch.recipients[0]).failure_streak == 1
    assert _contact(database, batch.recipients[0]).status == ContactStatus.SUBSCRIBED


def test_a_delivered_message_clears_the_streak(database: Database) -> None:
    batch = _sent(database, 3)
    _store(database, _report(batch, 0, S.DELETED, 0), _report(batch, 1, S.DELETED, 0))
    campaign = make_campaign(database, numbers(3), launch=True)
    with database.write() as session:
        later = claim_batch(session, campaign.id, 1000, b"test-key")
    assert later is not None
    _store(database, _report(later, 0, S.DELIVERED, 0), _report(later, 2, S.DELIVERED, 0))
    cleared = _contact(database, batch.recipients[0])
    assert (cleared.failure_streak, cleared.failed_message_ids) == (0, None)
    assert _contact(database, batch.recipients[1]).failure_streak == 1


def test_an_inbound_text_from_the_number_clears_the_streak(database: Database) -> None:
    batch = _sent(database)
    _store(database, _report(batch, 0, S.DELETED, 0))
    with database.write() as session:
        message = InboundMessage(
            provider_id="MO1",
            from_phone=batch.recipients[0],
            to="12017777777",
            body="Who is this?",
            received_at=utcnow(),
        )
        session.add(message)
        session.flush()
        handle_inbound(session, b"test-key", POLICY, message)
    assert _contact(database, batch.recipients[0]).failure_streak == 0


def test_nothing_counts_when_hygiene_is_off(database: Database) -> None:
    batch = _sent(database)
    _store(database, _report(batch, 0, S.DELETED, 0), invalid_after=0)
    assert _contact(database, batch.recipients[0]).failure_streak == 0


def test_an_opted_out_contact_is_never_made_invalid(database: Database) -> None:
    batch = _sent(database)
    with database.write() as session:
        contact = session.scalars(select(Contact).where(Contact.phone == batch.recipients[0])).one()
        contact.status = ContactStatus.UNSUBSCRIBED
    _store(database, _report(batch, 0, S.DELETED, 0), invalid_after=1)
    assert _contact(database, batch.recipients[0]).status == ContactStatus.UNSUBSCRIBED
