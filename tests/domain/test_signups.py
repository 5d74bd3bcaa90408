from datetime import timedelta

import pytest
from sqlalchemy import func, select

from textcast.db import Database
from textcast.domain import signups
from textcast.domain.audience import lists, suppressions
from textcast.domain.errors import TooManyRequests
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    ConsentEvent,
    Contact,
    ContactStatus,
    InboundMessage,
    ListMember,
    Message,
    Signup,
    SignupChannel,
    SignupStatus,
    utcnow,
)

KEY = b"test-key"
POLICY = signups.SignupPolicy(
    secret=KEY, sender=None, confirmation_window=timedelta(hours=72), daily_quota=0
)
PHONE = "+12015550123"


def _list(database: Database) -> int:
    with database.write() as session:
        return lists.create_list(session, "VIP").id


def _request(list_id: int, **changes: object) -> signups.SignupRequest:
    values: dict[str, object] = {
        "channel": SignupChannel.FORM,
        "phone": PHONE,
        "list_id": list_id,
        "double_opt_in": True,
        "confirmation_text": "Reply Y to join VIP texts from Shop.",
        "welcome_text": "Welcome to VIP!",
        "fields": {"first_name": "Ana", "store": "Lyon"},
        "disclosure": "By signing up you agree...",
        "disclosure_version": 3,
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0",
    }
    values.update(changes)
    return signups.SignupRequest(**values)  # type: ignore[arg-type]


def _reply_y(database: Database, provider_id: str = "mo-1") -> int | None:
    with database.write() as session:
        message = InboundMessage(
            provider_id=provider_id, from_phone=PHONE, to="+1555", body="Y", received_at=utcnow()
        )
        session.add(message)
        session.flush()
        confirmed = signups.confirm_latest(session, POLICY, message)
        return confirmed.id if confirmed else None


def _kinds(database: Database) -> list[str]:
    with database.read() as session:
        return [str(k) for k in session.scalars(select(Campaign.kind).order_by(Campaign.id))]


def test_double_opt_in_waits_for_the_reply_then_subscribes_and_welcomes(
    database: Database,
) -> None:
    list_id = _list(database)
    with database.write() as session:
        signup = signups.start_signup(session, POLICY, _request(list_id))
        signup_id = signup.id
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        stored = session.get_one(Signup, signup_id)
        assert stored.status == SignupStatus.PENDING
        assert stored.confirmation_campaign_id is not None
    assert _kinds(database) == [CampaignKind.CONFIRMATION]

    assert _reply_y(database) == signup_id
    with database.read() as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.status, contact.first_name) == (ContactStatus.SUBSCRIBED, "Ana")
        assert contact.attributes == {"store": "Lyon"}
        assert session.get(ListMember, (list_id, contact.id)) is not None
        event = session.scalars(select(ConsentEvent)).one()
        assert (event.signup_id, event.purpose, event.evidence) == (
            signup_id,
            "marketing",
            "By signing up you agree...",
        )
        assert event.inbound_message_id is not None
        assert session.get_one(Signup, signup_id).confirmed_at is not None
    assert _kinds(database) == [CampaignKind.CONFIRMATION, CampaignKind.WELCOME]
    assert _reply_y(database, "mo-2") is None  # nothing pending any more


def test_one_confirmation_text_per_number_per_day(database: Database) -> None:
    list_id = _list(database)
    for _ in range(10):
        with database.write() as session:
            signups.start_signup(session, POLICY, _request(list_id))
    with database.read() as session:
        held = list(session.scalars(select(Signup.confirmation_held)))
        sent = session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Campaign, Campaign.id == Message.campaign_id)
        )
    assert held.count(None) == 1 and held.count(signups.ONE_PER_DAY) == 9
    assert sent == 1


def test_single_opt_in_subscribes_at_once(database: Database) -> None:
    list_id = _list(database)
    with database.write() as session:
        signup = signups.start_signup(session, POLICY, _request(list_id, double_opt_in=False))
        assert signup.status == SignupStatus.CONFIRMED
    assert _kinds(database) == [CampaignKind.WELCOME]


def test_a_number_that_said_stop_is_always_asked(database: Database) -> None:
    list_id = _list(database)
    with database.write() as session:
        suppressions.suppress(session, KEY, PHONE, reason="opt_out")
    with database.write() as session:
        signup = signups.start_signup(session, POLICY, _request(list_id, double_opt_in=False))
        assert (signup.status, signup.double_opt_in) == (SignupStatus.PENDING, True)
    assert _kinds(database) == [CampaignKind.CONFIRMATION]


def test_over_the_daily_quota_nothing_is_stored_and_no_text_goes(database: Database) -> None:
    list_id = _list(database)
    tight = signups.SignupPolicy(
        secret=KEY, sender=None, confirmation_window=timedelta(hours=1), daily_quota=1
    )
    with database.write() as session:
        signups.start_signup(session, tight, _request(list_id))
    with pytest.raises(TooManyRequests), database.write() as session:
        signups.start_signup(session, tight, _request(list_id, phone="+12015550124"))
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 1


def test_a_form_over_its_hourly_cap_refuses_and_alerts_once(database: Database) -> None:
    list_id = _list(database)
    from textcast.domain.audience import lists as _  # noqa: F401

    with database.write() as session:
        from textcast.models import SignupForm

        form = SignupForm(
            slug="vip",
            name="VIP",
            list_id=list_id,
            title="Join",
            fields=[],
            disclosure="d",
            confirmation_text="Reply Y",
            allowed_countries=["US"],
            allowed_origins=[],
        )
        session.add(form)
        session.flush()
        form_id = form.id
    refused = 0
    for n in range(5):
        request = _request(
            list_id, phone=f"+1201555{n:04d}", form_id=form_id, confirmations_per_hour=2
        )
        try:
            with database.write() as session:
                signups.start_signup(session, POLICY, request)
        except TooManyRequests:
            refused += 1
    assert refused == 3
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 2


def test_expired_and_cancelled_sign_ups_confirm_nothing(database: Database) -> None:
    list_id = _list(database)
    with database.write() as session:
        signups.start_signup(session, POLICY, _request(list_id))
    with database.write() as session:
        assert signups.expire_due(session, utcnow() + timedelta(hours=73)) == 1
    assert _reply_y(database) is None
    with database.write() as session:
        signups.start_signup(session, POLICY, _request(list_id), now=utcnow() + timedelta(hours=25))
    with database.write() as session:
        assert signups.cancel_pending(session, PHONE) == 1
    assert _reply_y(database, "mo-2") is None
    with database.read() as session:
        statuses = sorted(str(s) for s in session.scalars(select(Signup.status)))
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert statuses == ["cancelled", "expired"]


def test_a_confirmation_text_is_launched_as_create_campaign_and_launch_campaign_would(
    database: Database,
) -> None:
    """The sign-up's quick launch of its text writes the rows the long way writes."""
    from textcast.domain.campaigns import drafts
    from textcast.domain.campaigns.launch import launch_campaign
    from textcast.models import CampaignRecipient, ClaimCursor

    list_id = _list(database)
    text = "Shop: reply Y to confirm. Réponds STOP pour arrêter."
    with database.write() as session:
        signup = signups.start_signup(session, POLICY, _request(list_id, confirmation_text=text))
        quick = signup.confirmation_campaign_id
        draft = drafts.CampaignDraft("Sign-up confirmation", text, [PHONE], None)
        slow = drafts.create_campaign(session, draft, "US", kind=CampaignKind.CONFIRMATION).id
        launch_campaign(session, slow)
    skipped = {"id", "reference", "created_at", "launched_at", "updated_at", "campaign_id"}

    def rows(model: object, campaign_id: int | None) -> list[dict[str, object]]:
        column = model.id if model is Campaign else model.campaign_id  # type: ignore[attr-defined]
        with database.read() as session:
            found = session.scalars(select(model).where(column == campaign_id)).all()
        return [
            {k: v for k, v in vars(row).items() if not k.startswith("_") and k not in skipped}
            for row in found
        ]

    for model in (Campaign, CampaignRecipient, Message, ClaimCursor):
        assert rows(model, quick) == rows(model, slow), model
        assert rows(model, quick), model
