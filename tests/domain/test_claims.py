"""Claims in two transactions: `claim_batches` takes messages off the queue past the campaign's
cursor, `screen_claims` decides what leaves; whatever does not leave comes back behind a
lowered cursor, and a campaign completes only when nothing is queued, deferred or on its way.

Every step runs in its own committed transaction, as the dispatcher runs them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update
from tests.factories import claim_batch, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns, inbox, outbox
from textcast.domain.audience import contacts, suppressions
from textcast.domain.campaigns.planning import Policy
from textcast.domain.inbox.events import IncomingEvent, StatusReport
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    CampaignStatus,
    ClaimCursor,
    Message,
    MessageStatus,
    SkipReason,
    WebhookKind,
)
from textcast.runtime import sending_policy

SECRET = b"claims-test-secret"
# 16:00 UTC: noon in New York (the numbers' area code, 201), 01:00 in Tokyo.
AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
TOKYO_OPENS = datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
# The suite's environment opens every window all day (conftest); these are the legal hours.
LEGAL_HOURS = {"US": "08:00-21:00", "US-FL": "08:00-20:00", "US-OK": "08:00-20:00"}


# -- helpers -------------------------------------------------------------------------------


def _policy(**settings: Any) -> Policy:
    return sending_policy(load_settings(secret_key=SECRET.decode(), **settings))


def _launched(database: Database, recipients: list[str], **draft: Any) -> int:
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session,
            campaigns.CampaignDraft(name="c", body="Sale today", recipients=recipients, **draft),
            "US",
        )
        campaigns.launch_campaign(session, campaign.id)
        return campaign.id


def _ids(database: Database, campaign_id: int) -> list[int]:
    with database.read() as session:
        return list(
            session.scalars(
                select(Message.id).where(Message.campaign_id == campaign_id).order_by(Message.id)
            )
        )


def _phones(database: Database, ids: list[int]) -> list[str]:
    with database.read() as session:
        rows = session.execute(select(Message.id, Message.phone).where(Message.id.in_(ids)))
        by_id = {message_id: phone for message_id, phone in rows}
    return [by_id[i] for i in ids]


def _messages(
    database: Database, campaign_id: int
) -> dict[int, tuple[str, str | None, str | None]]:
    """id -> (status, batch_id, error)."""
    with database.read() as session:
        rows = session.execute(
            select(Message.id, Message.status, Message.batch_id, Message.error).where(
                Message.campaign_id == campaign_id
            )
        )
        return {i: (status, batch, error) for i, status, batch, error in rows}


def _campaign(database: Database, campaign_id: int) -> Campaign:
    with database.read() as session:
        return campaigns.get_campaign(session, campaign_id)


def _cursor(database: Database, campaign_id: int) -> int:
    with database.read() as session:
        return session.get_one(ClaimCursor, campaign_id).claimed_through


def _batches(database: Database, campaign_id: int) -> dict[str, str]:
    with database.read() as session:
        rows = session.execute(
            select(Batch.id, Batch.state).where(Batch.campaign_id == campaign_id)
        )
        return {batch_id: state for batch_id, state in rows}


def _claim(
    database: Database, campaign_id: int, size: int, now: datetime | None = None
) -> outbox.Claim | None:
    with database.write() as session:
        claims = outbox.claim_batches(session, campaign_id, size, 1, now)
        return claims[0] if claims else None


def _screen(database: Database, claim: outbox.Claim, **options: Any) -> outbox.ClaimedBatch | None:
    with database.write() as session:
        screened = outbox.screen_claims(session, [claim], SECRET, **options)
        return screened[0] if screened else None


def _claimed_ids(claim: outbox.Claim | None) -> list[int]:
    assert claim is not None
    return [row.id for row in claim.rows]


def _complete(database: Database) -> list[int]:
    with database.write() as session:
        return campaigns.complete_finished_campaigns(session)


def _has_work(database: Database, campaign_id: int) -> bool:
    """Whether the dispatcher would look for work in the campaign at all."""
    with database.read() as session:
        return campaign_id in outbox.sending_campaign_ids(session)


def _assert_cursor_holds(database: Database, campaign_id: int) -> None:
    """The cursor's promise: every queued message of the campaign lies past it."""
    cursor = _cursor(database, campaign_id)
    queued = [
        i
        for i, (status, _, _) in _messages(database, campaign_id).items()
        if status == MessageStatus.QUEUED
    ]
    assert all(i > cursor for i in queued), f"queued {queued} not all past cursor {cursor}"


def _set_status(database: Database, ids: list[int], status: MessageStatus, **values: Any) -> None:
    with database.write() as session:
        session.execute(update(Message).where(Message.id.in_(ids)).values(status=status, **values))


# -- 1. claims walk the cursor ---------------------------------------------------------------


def test_claims_in_a_row_take_consecutive_messages_and_move_the_cursor(database: Database) -> None:
    other = _launched(database, numbers(3, start=100))  # an earlier campaign, left alone
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    assert _cursor(database, campaign_id) == 0

    first = _claim(database, campaign_id, 2, AT)
    assert _claimed_ids(first) == ids[:2]
    assert _cursor(database, campaign_id) == ids[1]
    second = _claim(database, campaign_id, 2, AT)
    assert _claimed_ids(second) == ids[2:]
    assert _cursor(database, campaign_id) == ids[3]

    assert first is not None and second is not None
    assert first.batch_id != second.batch_id
    assert [row.phone for row in first.rows] == _phones(database, ids[:2])
    assert _batches(database, campaign_id) == {
        first.batch_id: BatchState.CLAIMED,
        second.batch_id: BatchState.CLAIMED,
    }
    with database.read() as session:
        batch = session.get_one(Batch, second.batch_id)
        assert (batch.first_message_id, batch.last_message_id) == (ids[2], ids[3])
        assert batch.recipient_count == 2
    messages = _messages(database, campaign_id)
    for claim in (first, second):
        for message_id in _claimed_ids(claim):
            assert messages[message_id] == (MessageStatus.SUBMITTING, claim.batch_id, None)

    # Everything is claimed: no claim, no batch row left behind, no work to look for.
    assert _claim(database, campaign_id, 2, AT) is None
    assert set(_batches(database, campaign_id)) == {first.batch_id, second.batch_id}
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 2
    assert not _has_work(database, campaign_id)
    # The other campaign was not touched.
    assert {s for s, _, _ in _messages(database, other).values()} == {MessageStatus.QUEUED}
    assert _cursor(database, other) == 0


def test_one_claim_fills_several_batches_in_id_order(database: Database) -> None:
    campaign_id = _launched(database, numbers(7))
    ids = _ids(database, campaign_id)
    with database.write() as session:
        claims = outbox.claim_batches(session, campaign_id, 3, 3, AT)

    assert [[row.id for row in claim.rows] for claim in claims] == [ids[0:3], ids[3:6], ids[6:7]]
    assert _cursor(database, campaign_id) >= ids[6]
    _assert_cursor_holds(database, campaign_id)
    messages = _messages(database, campaign_id)
    for claim in claims:
        assert {messages[row.id] for row in claim.rows} == {
            (MessageStatus.SUBMITTING, claim.batch_id, None)
        }
    assert _batches(database, campaign_id) == {c.batch_id: BatchState.CLAIMED for c in claims}
    with database.write() as session:
        assert outbox.claim_batches(session, campaign_id, 3, 3, AT) == []


def test_a_claim_waits_for_the_previous_one_and_starts_where_it_stopped(
    database: Database,
) -> None:
    """Claims of one campaign take turns: a second claim, started while the first is still
    uncommitted, waits for it and takes the next messages, not the same ones."""
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    second: list[outbox.Claim | None] = []
    with database.write() as session:
        (first,) = outbox.claim_batches(session, campaign_id, 2, 1)
        other = threading.Thread(target=lambda: second.append(_claim(database, campaign_id, 2)))
        other.start()
        other.join(0.3)
        assert other.is_alive(), "the second claim did not wait for the first one's commit"
    other.join(10)
    assert not other.is_alive()
    assert _claimed_ids(first) == ids[:2]
    assert len(second) == 1
    assert _claimed_ids(second[0]) == ids[2:]
    assert _cursor(database, campaign_id) == ids[3]


def test_a_short_last_claim_takes_what_is_left_and_the_next_finds_nothing(
    database: Database,
) -> None:
    campaign_id = _launched(database, numbers(3))
    ids = _ids(database, campaign_id)
    assert _claimed_ids(_claim(database, campaign_id, 2)) == ids[:2]
    assert _claimed_ids(_claim(database, campaign_id, 2)) == ids[2:]
    assert _cursor(database, campaign_id) >= ids[2]
    assert _claim(database, campaign_id, 2) is None
    assert len(_batches(database, campaign_id)) == 2


def test_a_claim_jumps_over_a_long_run_of_messages_that_are_not_queued(
    database: Database,
) -> None:
    """An evaluated launch leaves skipped messages among the queued ones: a claim that finds
    none in its window of ids goes on to the next queued message."""
    campaign_id = _launched(database, numbers(12))
    ids = _ids(database, campaign_id)
    _set_status(database, ids[1:10], MessageStatus.SKIPPED, error="no_send_window")
    assert _claimed_ids(_claim(database, campaign_id, 1)) == [ids[0]]
    assert _claimed_ids(_claim(database, campaign_id, 1)) == [ids[10]]
    assert _cursor(database, campaign_id) == ids[10]
    assert _claimed_ids(_claim(database, campaign_id, 2)) == [ids[11]]
    assert _claim(database, campaign_id, 1) is None
    _assert_cursor_holds(database, campaign_id)


def test_a_batch_begun_before_a_long_run_of_other_messages_is_filled_after_it(
    database: Database,
) -> None:
    """A batch's range of ids may span a run of messages that are not queued: they stay as
    they are."""
    campaign_id = _launched(database, numbers(16))
    ids = _ids(database, campaign_id)
    _set_status(database, ids[1:12], MessageStatus.SKIPPED, error="no_send_window")
    claim = _claim(database, campaign_id, 2, AT)

    assert _claimed_ids(claim) == [ids[0], ids[12]]
    assert _cursor(database, campaign_id) == ids[12]
    messages = _messages(database, campaign_id)
    assert {messages[i] for i in ids[1:12]} == {(MessageStatus.SKIPPED, None, "no_send_window")}
    with database.read() as session:
        assert claim is not None
        batch = session.get_one(Batch, claim.batch_id)
        assert (batch.first_message_id, batch.last_message_id) == (ids[0], ids[12])
    _assert_cursor_holds(database, campaign_id)


def test_a_message_queued_into_a_range_after_it_was_counted_waits_for_the_next_claim(
    database: Database,
) -> None:
    """A claim counts its ranges, then takes them. A message another writer queues into a
    range in between (a deferred one, woken) would overfill its batch: it is taken, and the
    last one past the batch's size goes back to the queue, the cursor before it."""
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    _set_status(database, [ids[1]], MessageStatus.DEFERRED, not_before=AT)
    woken: list[str] = []

    def wake_before_the_take(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE messages SET status") and not woken:
            woken.append(statement)
            cursor.connection.execute(
                f"UPDATE messages SET status = 'queued', not_before = NULL WHERE id = {ids[1]}"
            )

    event.listen(database.engine, "before_cursor_execute", wake_before_the_take)
    try:
        claim = _claim(database, campaign_id, 3, AT)
    finally:
        event.remove(database.engine, "before_cursor_execute", wake_before_the_take)

    assert woken, "the claim never took its range"
    assert _claimed_ids(claim) == ids[:3]
    assert _messages(database, campaign_id)[ids[3]] == (MessageStatus.QUEUED, None, None)
    assert _cursor(database, campaign_id) == ids[2]
    _assert_cursor_holds(database, campaign_id)
    with database.read() as session:
        assert claim is not None
        assert session.get_one(Batch, claim.batch_id).recipient_count == 3
    assert _claimed_ids(_claim(database, campaign_id, 3, AT)) == [ids[3]]


# -- 2. claims a stopped process left ------------------------------------------------------


def test_release_claims_gives_a_claim_never_screened_back_to_the_queue(
    database: Database,
) -> None:
    campaign_id = _launched(database, numbers(5))
    ids = _ids(database, campaign_id)
    stranded = _claim(database, campaign_id, 2, AT)  # its process stopped before screening
    sent = _claim(database, campaign_id, 2, AT)
    assert sent is not None and stranded is not None
    assert _screen(database, sent) is not None
    assert _cursor(database, campaign_id) == ids[3]

    with database.write() as session:
        assert outbox.release_claims(session) == 1

    messages = _messages(database, campaign_id)
    for message_id in ids[:2]:
        assert messages[message_id] == (MessageStatus.QUEUED, None, None)
    for message_id in ids[2:4]:  # the screened batch is untouched
        assert messages[message_id] == (MessageStatus.SUBMITTING, sent.batch_id, None)
    assert _batches(database, campaign_id) == {sent.batch_id: BatchState.SUBMITTING}
    assert _cursor(database, campaign_id) < ids[0]
    _assert_cursor_holds(database, campaign_id)
    assert _has_work(database, campaign_id)
    assert _complete(database) == []

    # The next claims take the released messages again, then the rest, never the in-flight ones.
    again = _claim(database, campaign_id, 2, AT)
    assert _claimed_ids(again) == ids[:2]
    assert again is not None and again.batch_id != stranded.batch_id
    assert _claimed_ids(_claim(database, campaign_id, 2, AT)) == [ids[4]]
    assert _claim(database, campaign_id, 2, AT) is None
    messages = _messages(database, campaign_id)
    for message_id in ids[2:4]:
        assert messages[message_id] == (MessageStatus.SUBMITTING, sent.batch_id, None)


def test_release_claims_of_given_batches_leaves_other_claims_alone(database: Database) -> None:
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    first = _claim(database, campaign_id, 2)
    second = _claim(database, campaign_id, 2)
    assert first is not None and second is not None

    with database.write() as session:
        assert outbox.release_claims(session, [second.batch_id]) == 1

    assert _batches(database, campaign_id) == {first.batch_id: BatchState.CLAIMED}
    messages = _messages(database, campaign_id)
    assert [messages[i] for i in ids] == [
        (MessageStatus.SUBMITTING, first.batch_id, None),
        (MessageStatus.SUBMITTING, first.batch_id, None),
        (MessageStatus.QUEUED, None, None),
        (MessageStatus.QUEUED, None, None),
    ]
    _assert_cursor_holds(database, campaign_id)
    assert _claimed_ids(_claim(database, campaign_id, 5)) == ids[2:]


# -- 3. paused or cancelled between claim and screening --------------------------------------


def test_a_claim_screened_after_a_pause_goes_back_and_is_claimed_after_resume(
    database: Database,
) -> None:
    campaign_id = _launched(database, numbers(5))
    ids = _ids(database, campaign_id)
    first = _claim(database, campaign_id, 2, AT)
    second = _claim(database, campaign_id, 2, AT)
    assert first is not None and second is not None
    with database.write() as session:
        campaigns.pause_campaign(session, campaign_id)

    # Screened out of order: the cursor ends before the earliest of both.
    assert _screen(database, second, now=AT) is None
    assert _cursor(database, campaign_id) < ids[2]
    assert _screen(database, first, now=AT) is None
    assert _cursor(database, campaign_id) < ids[0]

    assert {s for s, _, _ in _messages(database, campaign_id).values()} == {MessageStatus.QUEUED}
    assert {b for _, b, _ in _messages(database, campaign_id).values()} == {None}
    assert _batches(database, campaign_id) == {}
    _assert_cursor_holds(database, campaign_id)
    assert _claim(database, campaign_id, 2, AT) is None  # paused: nothing is claimed
    assert _batches(database, campaign_id) == {}

    with database.write() as session:
        resumed = campaigns.resume_campaign(session, campaign_id, now=AT)
        assert resumed.status == CampaignStatus.SENDING
    assert _has_work(database, campaign_id)
    again = _claim(database, campaign_id, 4, AT)
    assert _claimed_ids(again) == ids[:4]
    assert again is not None
    batch = _screen(database, again, now=AT)
    assert batch is not None
    assert batch.recipients == sorted(_phones(database, ids[:4]))
    assert _claimed_ids(_claim(database, campaign_id, 4, AT)) == [ids[4]]


def test_a_claim_screened_after_a_cancel_is_skipped_as_cancelled(database: Database) -> None:
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    claim = _claim(database, campaign_id, 2, AT)
    assert claim is not None
    with database.write() as session:
        _, provider_ids = campaigns.cancel_campaign(session, campaign_id)
        assert provider_ids == []

    assert _screen(database, claim, now=AT) is None

    messages = _messages(database, campaign_id)
    assert [messages[i] for i in ids] == [(MessageStatus.SKIPPED, None, SkipReason.CANCELLED)] * 4
    assert _batches(database, campaign_id) == {}
    assert _campaign(database, campaign_id).status == CampaignStatus.CANCELLED
    assert _claim(database, campaign_id, 2, AT) is None


def test_a_claim_released_after_a_cancel_is_skipped_as_cancelled(database: Database) -> None:
    """The dispatcher stopped between claim and screening, and the campaign was cancelled
    before it came back: nothing may stay queued in a cancelled campaign."""
    campaign_id = _launched(database, numbers(3))
    ids = _ids(database, campaign_id)
    claim = _claim(database, campaign_id, 2, AT)
    assert claim is not None
    with database.write() as session:
        campaigns.cancel_campaign(session, campaign_id)
    with database.write() as session:
        assert outbox.release_claims(session) == 1

    messages = _messages(database, campaign_id)
    assert [messages[i] for i in ids] == [(MessageStatus.SKIPPED, None, SkipReason.CANCELLED)] * 3
    assert _batches(database, campaign_id) == {}


def test_a_claim_screened_after_pause_and_resume_is_sent(database: Database) -> None:
    campaign_id = _launched(database, numbers(2))
    claim = _claim(database, campaign_id, 2, AT)
    assert claim is not None
    with database.write() as session:
        campaigns.pause_campaign(session, campaign_id)
    with database.write() as session:
        campaigns.resume_campaign(session, campaign_id, now=AT)
    batch = _screen(database, claim, now=AT)
    assert batch is not None and batch.id == claim.batch_id
    assert _batches(database, campaign_id) == {claim.batch_id: BatchState.SUBMITTING}


# -- 4. deferred messages behind the cursor ------------------------------------------------


def _tokyo(database: Database, phones: list[str]) -> None:
    with database.write() as session:
        for phone in phones:
            contacts.create_contact(
                session,
                contacts.ContactDraft(phone=phone, time_zone="Asia/Tokyo"),
                "US",
                "test",
                SECRET,
            )


def test_claims_screened_together_keep_their_own_batches(database: Database) -> None:
    """One screening for a round of claims: an opt-out in one, recipients held by their send
    window in another (which is left empty and goes away), the rest posted as claimed."""
    policy = _policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    campaign_id = _launched(database, numbers(6))
    ids = _ids(database, campaign_id)
    phones = _phones(database, ids)
    _tokyo(database, phones[2:4])
    with database.write() as session:
        suppressions.suppress(session, SECRET, phones[0], "test")
        claims = outbox.claim_batches(session, campaign_id, 2, 3, AT)
    assert [_claimed_ids(claim) for claim in claims] == [ids[0:2], ids[2:4], ids[4:6]]

    with database.write() as session:
        screened = outbox.screen_claims(
            session, claims, SECRET, post_now=True, policy=policy, now=AT
        )

    assert [(b.id, b.recipients) for b in screened] == [
        (claims[0].batch_id, [phones[1]]),
        (claims[2].batch_id, sorted(phones[4:6])),
    ]
    assert _batches(database, campaign_id) == {
        claims[0].batch_id: BatchState.POSTING,
        claims[2].batch_id: BatchState.POSTING,
    }
    messages = _messages(database, campaign_id)
    assert messages[ids[0]] == (MessageStatus.SKIPPED, None, SkipReason.OPTED_OUT)
    assert [messages[i][0] for i in ids[2:4]] == [MessageStatus.DEFERRED] * 2
    with database.read() as session:
        first = session.get_one(Batch, claims[0].batch_id)
        assert (first.recipient_count, first.first_message_id, first.last_message_id) == (
            1,
            ids[1],
            ids[1],
        )
        assert _campaign(database, campaign_id).spent > 0


def test_deferred_messages_of_an_expired_campaign_are_skipped_not_woken(
    database: Database,
) -> None:
    policy = _policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    expires = TOKYO_OPENS + timedelta(minutes=30)
    campaign_id = _launched(database, numbers(3))
    with database.write() as session:  # (the fixed test clock lies before today)
        session.get_one(Campaign, campaign_id).expires_at = expires
    ids = _ids(database, campaign_id)
    _tokyo(database, _phones(database, ids[:2]))
    claim = _claim(database, campaign_id, 3, AT)
    assert claim is not None
    assert _screen(database, claim, policy=policy, now=AT) is not None
    assert [_messages(database, campaign_id)[i][0] for i in ids[:2]] == [MessageStatus.DEFERRED] * 2

    # The dispatcher did not come round between the window's opening and the expiry.
    with database.write() as session:
        assert outbox.wake_deferred(session, expires + timedelta(minutes=1)) == 0

    messages = _messages(database, campaign_id)
    assert [messages[i] for i in ids[:2]] == [
        (MessageStatus.SKIPPED, None, SkipReason.OUTSIDE_WINDOW)
    ] * 2
    with database.read() as session:
        held = session.scalars(
            select(Message.not_before).where(Message.campaign_id == campaign_id)
        ).all()
        assert held == [None] * 3
    assert _complete(database) == []  # its third message is still on its way
    assert not _has_work(database, campaign_id)


def test_deferred_messages_behind_the_cursor_are_claimed_once_woken(database: Database) -> None:
    policy = _policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    campaign_id = _launched(database, numbers(5))
    ids = _ids(database, campaign_id)
    _tokyo(database, _phones(database, ids[:2]))  # at 01:00 in Tokyo: held till 08:00 there

    claim = _claim(database, campaign_id, 3, AT)
    assert _claimed_ids(claim) == ids[:3]
    assert claim is not None
    batch = _screen(database, claim, policy=policy, now=AT)
    assert batch is not None
    assert batch.recipients == _phones(database, [ids[2]])
    with database.read() as session:
        rows = session.execute(
            select(Message.id, Message.not_before).where(Message.status == MessageStatus.DEFERRED)
        )
        held = {message_id: not_before for message_id, not_before in rows}
        stored = session.get_one(Batch, claim.batch_id)
        assert (stored.first_message_id, stored.last_message_id) == (ids[2], ids[2])
        assert stored.recipient_count == 1
    assert held == {ids[0]: TOKYO_OPENS, ids[1]: TOKYO_OPENS}
    assert {_messages(database, campaign_id)[i][1] for i in ids[:2]} == {None}

    # The rest is claimed: the cursor passes the deferred messages.
    assert _claimed_ids(_claim(database, campaign_id, 3, AT)) == ids[3:]
    assert _claim(database, campaign_id, 3, AT) is None
    assert _cursor(database, campaign_id) >= ids[4]

    # Not yet time: nothing wakes.
    with database.write() as session:
        assert outbox.wake_deferred(session, TOKYO_OPENS - timedelta(minutes=1)) == 0
    assert _claim(database, campaign_id, 3, AT) is None

    later = TOKYO_OPENS + timedelta(minutes=5)
    with database.write() as session:
        assert outbox.wake_deferred(session, later) == 2
    _assert_cursor_holds(database, campaign_id)
    assert _has_work(database, campaign_id)
    woken = _claim(database, campaign_id, 3, later)
    assert _claimed_ids(woken) == ids[:2]
    assert woken is not None
    sent = _screen(database, woken, policy=policy, now=later)
    assert sent is not None
    assert sent.recipients == sorted(_phones(database, ids[:2]))
    assert _claim(database, campaign_id, 3, later) is None


# -- 5. completion -------------------------------------------------------------------------


def _leave(database: Database, claim: outbox.Claim, state: BatchState) -> None:
    """Take a claimed batch to `state`, as the dispatcher would."""
    if state == BatchState.CLAIMED:
        return
    batch = _screen(database, claim, post_now=state == BatchState.POSTING, now=AT)
    assert batch is not None
    with database.write() as session:
        if state == BatchState.RETRY:
            outbox.record_retry(session, claim.batch_id, "503", timedelta(seconds=1))
        elif state == BatchState.UNKNOWN:
            outbox.record_unknown(session, claim.batch_id, "timeout", timedelta(seconds=1))


@pytest.mark.parametrize(
    "state",
    [
        BatchState.CLAIMED,
        BatchState.SUBMITTING,
        BatchState.POSTING,
        BatchState.RETRY,
        BatchState.UNKNOWN,
    ],
)
def test_a_campaign_is_not_completed_while_a_batch_is_on_its_way(
    database: Database, state: BatchState
) -> None:
    campaign_id = _launched(database, numbers(3))
    done = _claim(database, campaign_id, 1, AT)
    assert done is not None and _screen(database, done, now=AT) is not None
    with database.write() as session:
        outbox.record_accepted(session, done.batch_id, "SINCH-1")
    claim = _claim(database, campaign_id, 2, AT)
    assert claim is not None
    _leave(database, claim, state)
    assert _batches(database, campaign_id) == {
        done.batch_id: BatchState.ACCEPTED,
        claim.batch_id: state,
    }
    # Nothing queued or deferred: only the batch keeps the campaign open.
    assert {s for s, _, _ in _messages(database, campaign_id).values()} == {
        MessageStatus.ACCEPTED,
        MessageStatus.SUBMITTING,
    }

    assert _complete(database) == []
    assert _campaign(database, campaign_id).status == CampaignStatus.SENDING

    if state == BatchState.CLAIMED:
        assert _screen(database, claim, now=AT) is not None
        assert _complete(database) == []
    with database.write() as session:
        outbox.record_accepted(session, claim.batch_id, "SINCH-2")
    assert _complete(database) == [campaign_id]
    finished = _campaign(database, campaign_id)
    assert finished.status == CampaignStatus.COMPLETED
    assert finished.completed_at is not None
    assert {s for s, _, _ in _messages(database, campaign_id).values()} == {MessageStatus.ACCEPTED}


def test_a_campaign_is_not_completed_while_messages_are_queued_or_deferred(
    database: Database,
) -> None:
    policy = _policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    campaign_id = _launched(database, numbers(4))
    ids = _ids(database, campaign_id)
    _tokyo(database, _phones(database, [ids[0]]))
    assert _complete(database) == []  # all queued

    first = _claim(database, campaign_id, 2, AT)
    assert first is not None and _screen(database, first, policy=policy, now=AT) is not None
    with database.write() as session:
        outbox.record_accepted(session, first.batch_id, "SINCH-1")
    assert _complete(database) == []  # two still queued past the cursor

    rest = _claim(database, campaign_id, 2, AT)
    assert rest is not None and _screen(database, rest, policy=policy, now=AT) is not None
    with database.write() as session:
        outbox.record_accepted(session, rest.batch_id, "SINCH-2")
    assert _messages(database, campaign_id)[ids[0]][0] == MessageStatus.DEFERRED
    assert _complete(database) == []  # one deferred
    assert _campaign(database, campaign_id).status == CampaignStatus.SENDING

    later = TOKYO_OPENS + timedelta(minutes=1)
    with database.write() as session:
        assert outbox.wake_deferred(session, later) == 1
    assert _complete(database) == []  # queued again, behind where the cursor was
    woken = _claim(database, campaign_id, 2, later)
    assert _claimed_ids(woken) == [ids[0]]
    assert woken is not None
    assert _screen(database, woken, policy=policy, now=later) is not None
    assert _complete(database) == []
    with database.write() as session:
        outbox.record_accepted(session, woken.batch_id, "SINCH-3")
    assert _complete(database) == [campaign_id]
    assert _campaign(database, campaign_id).status == CampaignStatus.COMPLETED


def test_a_campaign_whose_released_claim_went_back_to_the_queue_is_not_completed(
    database: Database,
) -> None:
    campaign_id = _launched(database, numbers(2))
    assert _claim(database, campaign_id, 2, AT) is not None
    with database.write() as session:
        assert outbox.release_claims(session) == 1
    assert _complete(database) == []
    assert _campaign(database, campaign_id).status == CampaignStatus.SENDING


def test_each_campaign_is_judged_by_its_own_cursor(database: Database) -> None:
    """A campaign launched later has higher ids than an earlier one's cursor: its queued
    messages still count as queued (and it is still offered to claims)."""
    earlier = _launched(database, numbers(3))
    while (claim := _claim(database, earlier, 2, AT)) is not None:
        with database.write() as session:
            (sent,) = outbox.screen_claims(session, [claim], SECRET, post_now=True, now=AT)
            assert sent is not None
            outbox.record_accepted(session, sent.id, f"sinch-{sent.id}")
    later = _launched(database, numbers(2, start=100))
    assert _cursor(database, earlier) >= max(_ids(database, later))

    assert _complete(database) == [earlier]
    assert _campaign(database, later).status == CampaignStatus.SENDING
    with database.read() as session:
        assert outbox.sending_campaign_ids(session) == [later]


# -- budget ---------------------------------------------------------------------------------


def test_messages_over_budget_go_back_behind_the_cursor_and_follow_after_resume(
    database: Database,
) -> None:
    policy = _policy(prices={"US": 0.01})
    with database.write() as session:
        draft = campaigns.CampaignDraft(
            name="b", body="Sale today", recipients=numbers(4), budget=1.0
        )
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy, now=AT)
        campaigns.set_budget(session, campaign.id, 0.02)
        campaign_id = campaign.id
    ids = _ids(database, campaign_id)
    assert {s for s, _, _ in _messages(database, campaign_id).values()} == {MessageStatus.QUEUED}

    claim = _claim(database, campaign_id, 4, AT)
    assert _claimed_ids(claim) == ids
    assert claim is not None
    batch = _screen(database, claim, policy=policy, now=AT)
    assert batch is not None
    assert batch.recipients == sorted(_phones(database, ids[:2]))

    paused = _campaign(database, campaign_id)
    assert paused.status == CampaignStatus.PAUSED
    assert paused.spent == pytest.approx(0.02)
    assert _cursor(database, campaign_id) == ids[1]
    messages = _messages(database, campaign_id)
    assert [messages[i] for i in ids] == [
        (MessageStatus.SUBMITTING, claim.batch_id, None),
        (MessageStatus.SUBMITTING, claim.batch_id, None),
        (MessageStatus.QUEUED, None, None),
        (MessageStatus.QUEUED, None, None),
    ]
    with database.read() as session:
        stored = session.get_one(Batch, claim.batch_id)
        assert stored.state == BatchState.SUBMITTING
        assert (stored.recipient_count, stored.first_message_id, stored.last_message_id) == (
            2,
            ids[0],
            ids[1],
        )

    with database.write() as session:
        campaigns.set_budget(session, campaign_id, 1.0)
        campaigns.resume_campaign(session, campaign_id, now=AT)
    rest = _claim(database, campaign_id, 4, AT)
    assert _claimed_ids(rest) == ids[2:]


# -- 6. delivery reports ---------------------------------------------------------------------


def _status(database: Database, campaign_id: int, phone: str) -> str:
    with database.read() as session:
        return session.scalars(
            select(Message.status).where(Message.campaign_id == campaign_id, Message.phone == phone)
        ).one()


def _sent(database: Database, campaign_id: int, size: int, provider_id: str) -> outbox.ClaimedBatch:
    with database.write() as session:
        batch = claim_batch(session, campaign_id, size, SECRET)
        assert batch is not None
        outbox.record_accepted(session, batch.id, provider_id)
    return batch


def test_a_report_moves_the_message_of_its_batch_not_the_same_number_in_another_campaign(
    database: Database,
) -> None:
    audience = numbers(3)
    first = _launched(database, audience)
    second = _launched(database, audience)
    a = _sent(database, first, 10, "SINCH-A")
    b = _sent(database, second, 10, "SINCH-B")
    assert a.recipients == b.recipients == sorted(audience)
    phone, other_phone = a.recipients[0], a.recipients[1]

    delivered = StatusReport(phone, MessageStatus.DELIVERED, 0, a.id, None)
    with database.write() as session:
        inbox.store_events(
            session.connection(),
            [IncomingEvent(WebhookKind.DELIVERY_REPORT, "a-1", "{}", (delivered,))],
        )
    assert _status(database, first, phone) == MessageStatus.DELIVERED
    assert _status(database, second, phone) == MessageStatus.ACCEPTED
    assert _status(database, first, other_phone) == MessageStatus.ACCEPTED

    # Found through the provider's batch id alone.
    failed = StatusReport(other_phone, MessageStatus.FAILED, 402, None, "SINCH-B")
    with database.write() as session:
        assert inbox.apply_reports(session.connection(), [failed]) == 1
    assert _status(database, second, other_phone) == MessageStatus.FAILED
    assert _status(database, first, other_phone) == MessageStatus.ACCEPTED
    assert _status(database, second, phone) == MessageStatus.ACCEPTED
    with database.read() as session:
        code = session.scalar(
            select(Message.status_code).where(
                Message.campaign_id == second, Message.phone == other_phone
            )
        )
    assert code == 402


def test_a_report_naming_another_batch_of_the_same_campaign_changes_nothing(
    database: Database,
) -> None:
    campaign_id = _launched(database, numbers(2))
    one = _sent(database, campaign_id, 1, "SINCH-1")
    two = _sent(database, campaign_id, 1, "SINCH-2")
    assert one.recipients != two.recipients
    # A report for batch one, naming the number that went in batch two.
    wrong = StatusReport(two.recipients[0], MessageStatus.DELIVERED, 0, one.id, None)
    with database.write() as session:
        inbox.store_events(
            session.connection(),
            [IncomingEvent(WebhookKind.DELIVERY_REPORT, "wrong", "{}", (wrong,))],
        )
    assert _status(database, campaign_id, two.recipients[0]) == MessageStatus.ACCEPTED
    assert _status(database, campaign_id, one.recipients[0]) == MessageStatus.ACCEPTED
    right = StatusReport(two.recipients[0], MessageStatus.DELIVERED, 0, two.id, None)
    with database.write() as session:
        assert inbox.apply_reports(session.connection(), [right]) == 1
    assert _status(database, campaign_id, two.recipients[0]) == MessageStatus.DELIVERED
    assert _status(database, campaign_id, one.recipients[0]) == MessageStatus.ACCEPTED


# -- 7. rewrites in place ----------------------------------------------------------------------


def test_a_claim_and_an_acceptance_rewrite_every_message_in_its_page(database: Database) -> None:
    """On PostgreSQL each message is rewritten twice within seconds of its launch: claimed,
    then accepted. Both must be heap-only (HOT) updates, no index entry written, even when
    nothing could be pruned in between: here both happen in one transaction."""
    if database.is_sqlite:
        pytest.skip("SQLite has no heap-only updates to check")
    campaign_id = _launched(database, numbers(400))
    with database.write() as session:
        claims = outbox.claim_batches(session, campaign_id, 100, 4, AT)
        assert sum(len(claim.rows) for claim in claims) == 400
        for claim in claims:
            outbox.record_accepted(session, claim.batch_id, f"sinch-{claim.batch_id}")
        updated, in_place = session.execute(
            text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'messages'"
            )
        ).one()
    assert (updated, in_place) == (800, 800)
