"""Keyword opt-in over the inbound webhook: VIP asks for a "Y", Y subscribes and welcomes, a
member gets the already-subscribed reply once per period, STOP cancels what waits, YES with
nothing waiting is START again, and the sweep expires what was never confirmed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.factories import authorize, make_keyword, numbers
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    CampaignRecipient,
    ConsentEvent,
    ConsentKind,
    Contact,
    ContactStatus,
    InboundMessage,
    ListMember,
    Role,
    Signup,
    SignupChannel,
    SignupStatus,
    utcnow,
)
from textcast.runtime import Runtime
from textcast.web.app import create_app

INBOUND_PATH = "/api/webhooks/inbound"
PHONE = numbers(1)[0]

Text = Callable[[str, str], None]


@contextmanager
def _phone(database_url: str, **settings: Any) -> Iterator[tuple[Text, Runtime]]:
    """`text(phone, body)`: Sinch delivers a text to our number, as the simulator signs it."""
    with _app(database_url, **settings) as (text, runtime, _):
        yield text, runtime


@contextmanager
def _app(database_url: str, **settings: Any) -> Iterator[tuple[Text, Runtime, TestClient]]:
    config = load_settings(database_url=database_url, secret_key="tests", **settings)
    app = create_app(config, dispatch=False, simulator=False)
    serial = iter(range(10_000))
    with TestClient(app) as client:

        def text(phone: str, body: str) -> None:
            callback = inbound_callback(next(serial), phone, body)
            answer: httpx.Response = client.post(
                INBOUND_PATH, content=callback, headers=signed_by_sinch(config, callback)
            )
            assert answer.json() == {"status": "stored"}, answer.text

        yield text, app.state.runtime, client


def _list(database: Database, name: str = "VIP club") -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def _texts(database: Database, phone: str = PHONE) -> list[tuple[str, str]]:
    """What we queued for `phone`: (kind, body), in order."""
    with database.read() as session:
        rows = session.execute(
            select(Campaign.kind, Campaign.body)
            .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
            .where(CampaignRecipient.phone == phone)
            .order_by(Campaign.id)
        ).all()
    return [(str(kind), body) for kind, body in rows]


def _signups(database: Database) -> list[Signup]:
    with database.read() as session:
        return list(session.scalars(select(Signup).order_by(Signup.id)))


def _inbound_keywords(database: Database) -> list[str | None]:
    with database.read() as session:
        return list(session.scalars(select(InboundMessage.keyword).order_by(InboundMessage.id)))


def _member(database: Database, phone: str, list_id: int) -> bool:
    with database.read() as session:
        return (
            session.scalar(
                select(Contact.id)
                .join(ListMember, ListMember.contact_id == Contact.id)
                .where(Contact.phone == phone, ListMember.list_id == list_id)
            )
            is not None
        )


def _limits_tripped(database: Database) -> list[str]:
    """The settings named by `keyword_replies_held` audit entries, in order."""
    with database.read() as session:
        return list(
            session.scalars(
                select(AuditEntry.target)
                .where(AuditEntry.action == "keyword_replies_held")
                .order_by(AuditEntry.id)
            )
        )


def test_a_keyword_asks_for_a_yes_and_the_yes_subscribes_with_its_evidence(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    keyword = make_keyword(database, list_id, "VIP")
    with _phone(database_url) as (text, _):
        text(PHONE, "vip!")
        [signup] = _signups(database)
        assert signup.status == SignupStatus.PENDING
        assert signup.channel == SignupChannel.KEYWORD
        assert signup.keyword_id == keyword.id
        assert signup.disclosure == "vip!"  # the message itself is the evidence
        assert _texts(database) == [("confirmation", keyword.confirmation_text)]
        with database.read() as session:
            assert session.scalars(select(Contact)).all() == []

        text(PHONE, "Y")
        text(PHONE, "y")  # nothing waits any more: just a reply, no second welcome
    [signup] = _signups(database)
    assert signup.status == SignupStatus.CONFIRMED
    assert _member(database, PHONE, list_id)
    assert _texts(database) == [
        ("confirmation", keyword.confirmation_text),
        ("welcome", keyword.welcome_text),
    ]
    assert _inbound_keywords(database) == ["signup", "confirm", None]
    with database.read() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.status == ContactStatus.SUBSCRIBED
        [event] = session.scalars(select(ConsentEvent)).all()
        assert event.kind == ConsentKind.OPT_IN
        assert event.source == "keyword:VIP"
        assert event.signup_id == signup.id
        inbound_ids = list(session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)))
        assert (signup.keyword_inbound_id, signup.confirmation_inbound_id) == tuple(inbound_ids[:2])
        assert event.inbound_message_id == inbound_ids[1]
        linked = session.scalars(select(InboundMessage.contact_id)).all()
        assert set(linked) == {contact.id}  # the VIP text is the new contact's too


def test_a_member_texting_the_keyword_is_told_once_per_period(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    keyword = make_keyword(database, list_id, "VIP", double_opt_in=False)
    with _phone(database_url, reply_period_hours=24) as (text, _):
        text(PHONE, "VIP")  # single opt-in: subscribed at once
        assert _member(database, PHONE, list_id)
        text(PHONE, "VIP")
        text(PHONE, "V.I.P")
    assert _texts(database) == [
        ("welcome", keyword.welcome_text),
        ("reply", keyword.already_subscribed_text),
    ]
    assert _inbound_keywords(database) == ["signup", "already_member", "already_member"]
    with database.read() as session:
        names = session.scalars(
            select(Campaign.name).where(Campaign.kind == CampaignKind.REPLY)
        ).all()
    assert names == ["Automatic replies: already subscribed"]
    [signup] = _signups(database)
    assert signup.status == SignupStatus.CONFIRMED


def test_a_single_opt_in_keyword_subscribes_at_once_without_asking(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "JOIN", double_opt_in=False, welcome_text=None)
    with _phone(database_url) as (text, _):
        text(PHONE, "join")
    [signup] = _signups(database)
    assert signup.status == SignupStatus.CONFIRMED
    assert _member(database, PHONE, list_id)
    assert _texts(database) == []  # no confirmation asked, no welcome configured


def test_stop_after_the_keyword_cancels_the_sign_up_and_a_later_yes_confirms_nothing(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    with _phone(database_url) as (text, _):
        text(PHONE, "VIP")
        text(PHONE, "STOP")
        text(PHONE, "Y")
    [signup] = _signups(database)
    assert signup.status == SignupStatus.CANCELLED
    assert not _member(database, PHONE, list_id)
    assert [kind for kind, _ in _texts(database)] == ["confirmation", "reply"]  # STOP answered
    with database.read() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.status == ContactStatus.UNSUBSCRIBED
    assert _inbound_keywords(database) == ["signup", "opt_out", None]


def test_yes_while_a_sign_up_waits_confirms_it_rather_than_meaning_start(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    with _phone(database_url) as (text, _):
        text(PHONE, "VIP")
        text(PHONE, "Yes.")
    assert _member(database, PHONE, list_id)
    assert _inbound_keywords(database) == ["signup", "confirm"]
    assert [kind for kind, _ in _texts(database)] == ["confirmation", "welcome"]  # no START reply


def test_yes_with_nothing_waiting_is_still_start_and_a_bare_y_just_a_reply(
    database_url: str, database: Database
) -> None:
    other = numbers(2)[1]
    with _phone(database_url) as (text, _):
        text(PHONE, "STOP")
        text(PHONE, "YES")
        text(other, "Y")
    with database.read() as session:
        contact = session.scalars(select(Contact).where(Contact.phone == PHONE)).one()
        assert contact.status == ContactStatus.SUBSCRIBED
        assert session.scalars(select(Contact).where(Contact.phone == other)).first() is None
    assert _inbound_keywords(database) == ["opt_out", "opt_in", None]
    assert _signups(database) == []


def test_an_opted_out_number_texting_a_single_opt_in_keyword_is_still_asked(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "JOIN", double_opt_in=False)
    with _phone(database_url) as (text, _):
        text(PHONE, "STOP")
        text(PHONE, "JOIN")
    [signup] = _signups(database)
    assert signup.status == SignupStatus.PENDING
    assert [kind for kind, _ in _texts(database)] == ["reply", "confirmation"]


def test_with_the_daily_quota_reached_a_keyword_sends_nothing_and_stores_nothing(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    senders = numbers(3)
    with _phone(database_url, daily_recipient_quota=2) as (text, _):
        for phone in senders:
            text(phone, "VIP")
    assert [s.phone for s in _signups(database)] == senders[:2]
    assert _texts(database, senders[2]) == []
    assert _inbound_keywords(database) == ["signup"] * 3
    assert _limits_tripped(database) == ["DAILY_RECIPIENT_QUOTA"]


def test_a_keyword_from_a_number_abroad_starts_nothing_and_sends_nothing(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    abroad = "+33612345678"  # a French mobile number, outside DEFAULT_REGION (US)
    with _phone(database_url, default_region="US") as (text, _):
        text(abroad, "VIP")
        text(PHONE, "VIP")
    assert [s.phone for s in _signups(database)] == [PHONE]
    assert _texts(database, abroad) == []
    assert _limits_tripped(database) == ["DEFAULT_REGION"]


def test_keyword_confirmation_texts_count_toward_the_hourly_cap_on_keyword_answers(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    senders = numbers(3)
    with _phone(database_url, keyword_replies_per_hour=2) as (text, _):
        for phone in senders:
            text(phone, "VIP")
        text(senders[2], "HELP")  # the cap holds other answers back too
    assert [s.phone for s in _signups(database)] == senders[:2]
    assert _texts(database, senders[2]) == []
    assert _limits_tripped(database) == ["KEYWORD_REPLIES_PER_HOUR"]


def test_the_sweep_expires_sign_ups_never_confirmed(database_url: str, database: Database) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    with _phone(database_url, confirmation_hours=1) as (text, runtime):
        text(PHONE, "VIP")
        runtime.sweep_inbox_once()
        assert _signups(database)[0].status == SignupStatus.PENDING
        with database.write() as session:
            session.execute(update(Signup).values(expires_at=utcnow() - timedelta(seconds=1)))
        runtime.sweep_inbox_once()
        assert _signups(database)[0].status == SignupStatus.EXPIRED
        text(PHONE, "Y")  # too late: nothing to confirm
    assert not _member(database, PHONE, list_id)
    assert _inbound_keywords(database) == ["signup", None]


def test_the_confirmation_replies_are_a_setting_an_admin_changes_but_never_to_an_opt_out(
    database_url: str, database: Database
) -> None:
    list_id = _list(database)
    make_keyword(database, list_id, "VIP")
    with _app(database_url) as (text, _, client):
        authorize(client, database_url, Role.ADMIN)
        for change, field in [
            ({"CONFIRM_KEYWORDS": "Y, Stop"}, "CONFIRM_KEYWORDS"),
            ({"OPT_OUT_KEYWORDS": "STOP,Y"}, "OPT_OUT_KEYWORDS"),
        ]:
            refused = client.patch("/api/v1/settings", json=change)
            assert refused.status_code == 400, refused.text
            [problem] = refused.json()["problems"]
            assert problem["field"] == field
            assert "both a confirmation reply and an opt-out keyword" in problem["message"]
        changed = client.patch(
            "/api/v1/settings", json={"CONFIRM_KEYWORDS": "OK", "CONFIRMATION_HOURS": 2}
        )
        assert changed.status_code == 200, changed.text
        text(PHONE, "VIP")
        text(PHONE, "Y")  # not a confirmation reply any more
        assert _signups(database)[0].status == SignupStatus.PENDING
        text(PHONE, "ok")
    [signup] = _signups(database)
    assert signup.status == SignupStatus.CONFIRMED
    assert signup.expires_at is not None
    assert timedelta(hours=1.9) < signup.expires_at - signup.submitted_at <= timedelta(hours=2)
