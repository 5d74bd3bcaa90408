from sqlalchemy import select
from tests.factories import claim_batch, make_campaign, numbers

from textcast.db import Database
from textcast.domain import inbox, outbox
from textcast.domain.inbox.events import IncomingEvent, Outcome, StatusReport
from textcast.models import Message, MessageStatus, WebhookEvent, WebhookKind


def _claimed(database: Database, count: int = 3) -> outbox.ClaimedBatch:
    campaign = make_campaign(database, numbers(count), launch=True)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, b"test-key")
    assert batch is not None
    return batch


def _report(
    batch: outbox.ClaimedBatch, status: MessageStatus, *, n: int = 0, key: str = ""
) -> IncomingEvent:
    report = StatusReport(
        phone=batch.recipients[n],
        status=status,
        code=0,
        batch_ref=batch.id,
        provider_batch_id=None,
    )
    return IncomingEvent(
        WebhookKind.DELIVERY_REPORT, key or f"{batch.id}:{n}:{status}", "{}", (report,)
    )


def _status(database: Database, phone: str) -> MessageStatus:
    with database.read() as session:
        return session.scalars(select(Message.status).where(Message.phone == phone)).one()


def test_the_same_report_twice_is_stored_once(database: Database) -> None:
    batch = _claimed(database)
    event = _report(batch, MessageStatus.DELIVERED)
    with database.write() as session:
        first = inbox.store_events(session.connection(), [event, event])
    with database.write() as session:
        again = inbox.store_events(session.connection(), [event])
    assert first == [Outcome.STORED, Outcome.DUPLICATE]
    assert again == [Outcome.DUPLICATE]
    with database.read() as session:
        assert len(session.scalars(select(WebhookEvent)).all()) == 1


def test_a_final_status_never_regresses(database: Database) -> None:
    batch = _claimed(database)
    with database.write() as session:
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.DELIVERED)])
    with database.write() as session:
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.DISPATCHED)])
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.FAILED)])
        outbox.record_accepted(session, batch.id, "SINCH1")
    assert _status(database, batch.recipients[0]) == MessageStatus.DELIVERED


def test_a_report_that_overtook_the_201_still_marks_the_text_sent(database: Database) -> None:
    """A/B tests count the texts sent by `sent_at`, and so does the frequency cap."""
    batch = _claimed(database)
    early, late = batch.recipients[0], batch.recipients[1]
    with database.write() as session:
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.DELIVERED)])
        outbox.record_accepted(session, batch.id, "SINCH1")
    with database.read() as session:
        rows = session.execute(select(Message.phone, Message.sent_at)).all()
    sent = {phone: at for phone, at in rows}
    assert sent[early] is not None and sent[late] is not None
    with database.write() as session:  # a later report keeps the time Sinch took the text
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.DELIVERED, n=1)])
    with database.read() as session:
        again = session.scalars(select(Message.sent_at).where(Message.phone == late)).one()
    assert again == sent[late]


def test_reports_move_messages_forward_in_order(database: Database) -> None:
    batch = _claimed(database)
    phone = batch.recipients[1]
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    assert _status(database, phone) == MessageStatus.ACCEPTED
    with database.write() as session:
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.DISPATCHED, n=1)])
    assert _status(database, phone) == MessageStatus.DISPATCHED
    with database.write() as session:
        inbox.store_events(
            session.connection(), [_report(batch, MessageStatus.ACCEPTED, n=1)]
        )  # Sinch "Queued", late
    assert _status(database, phone) == MessageStatus.DISPATCHED
    with database.write() as session:
        inbox.store_events(session.connection(), [_report(batch, MessageStatus.EXPIRED, n=1)])
    assert _status(database, phone) == MessageStatus.EXPIRED


def test_a_report_for_an_unknown_batch_is_kept_and_applied_once_the_batch_is_known(
    database: Database,
) -> None:
    batch = _claimed(database)
    early = IncomingEvent(
        WebhookKind.DELIVERY_REPORT,
        "early",
        "{}",
        (StatusReport(batch.recipients[2], MessageStatus.DELIVERED, 0, None, "SINCH-LATE"),),
    )
    with database.write() as session:
        assert inbox.store_events(session.connection(), [early]) == [Outcome.STORED]
    with database.read() as session:
        pending = inbox.unprocessed_events(session)
    assert [e.dedupe_key for e in pending] == ["early"]
    with database.write() as session:
        assert not inbox.retry_event(session, pending[0], early)
        outbox.record_accepted(session, batch.id, "SINCH-LATE")
    with database.write() as session:
        assert inbox.retry_event(session, pending[0], early)
    assert _status(database, batch.recipients[2]) == MessageStatus.DELIVERED
    with database.read() as session:
        assert inbox.unprocessed_events(session) == []


def test_a_reused_nonce_is_refused(database: Database) -> None:
    batch = _claimed(database)
    first = IncomingEvent(WebhookKind.DELIVERY_REPORT, "a", "{}", (), nonce="N1")
    replay = IncomingEvent(WebhookKind.DELIVERY_REPORT, "b", "{}", (), nonce="N1")
    with database.write() as session:
        assert inbox.store_events(session.connection(), [first]) == [Outcome.STORED]
    with database.write() as session:
        assert inbox.store_events(
            session.connection(), [replay, _report(batch, MessageStatus.DELIVERED)]
        ) == [
            Outcome.REPLAYED,
            Outcome.STORED,
        ]


def test_within_one_group_the_first_final_status_wins(database: Database) -> None:
    batch = _claimed(database)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    failed_first = [_report(batch, MessageStatus.FAILED), _report(batch, MessageStatus.DELIVERED)]
    forward = [
        _report(batch, MessageStatus.DISPATCHED, n=1),
        _report(batch, MessageStatus.DELIVERED, n=1),
    ]
    with database.write() as session:
        outcomes = inbox.store_events(session.connection(), failed_first + forward)
    assert outcomes == [Outcome.STORED] * 4
    assert _status(database, batch.recipients[0]) == MessageStatus.FAILED
    assert _status(database, batch.recipients[1]) == MessageStatus.DELIVERED


def test_found_batches_are_remembered_and_unknown_ones_looked_up_again(
    database: Database,
) -> None:
    batch = _claimed(database)
    known = inbox.KnownBatches()

    def by_sinch_id(n: int, key: str) -> IncomingEvent:
        report = StatusReport(batch.recipients[n], MessageStatus.DELIVERED, 0, None, "SINCH-2")
        return IncomingEvent(WebhookKind.DELIVERY_REPORT, key, "{}", (report,))

    with database.write() as session:
        inbox.store_events(session.connection(), [by_sinch_id(0, "early")], known)
    assert known.by_provider_id("SINCH-2") is None
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH-2")
    with database.write() as session:
        inbox.store_events(session.connection(), [by_sinch_id(1, "later")], known)
    assert known.by_provider_id("SINCH-2") == batch.id
    assert _status(database, batch.recipients[1]) == MessageStatus.DELIVERED
    assert _status(database, batch.recipients[0]) != MessageStatus.DELIVERED  # left to the sweep


def test_a_report_whose_batch_stays_unknown_is_given_up_with_the_reason(
    database: Database,
) -> None:
    report = StatusReport("+12015550100", MessageStatus.DELIVERED, 0, None, "SINCH-NEVER")
    never = IncomingEvent(WebhookKind.DELIVERY_REPORT, "never", "{}", (report,))
    with database.write() as session:
        inbox.store_events(session.connection(), [never])
    for _ in range(inbox.MAX_EVENT_ATTEMPTS):
        with database.read() as session:
            [pending] = inbox.unprocessed_events(session)
        with database.write() as session:
            assert not inbox.retry_event(session, pending, never)
    with database.read() as session:
        assert inbox.unprocessed_events(session) == []
        stored = session.scalars(select(WebhookEvent)).one()
    assert stored.inapplicable == "its batch was still unknown after 50 attempts"
