"""The public form's use cases: sign-ups stored in groups, as if one after the other, each
rule of `start_signup` kept inside a group; a refused one leaves nothing and fails no other."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from tests.factories import make_form

from textcast.db import Database
from textcast.domain.audience import lists
from textcast.domain.errors import TooManyRequests
from textcast.domain.signups import CAP_REACHED, ONE_PER_DAY, CapReached, SignupPolicy
from textcast.domain.signups.signups import SignupRequest
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    Signup,
    SignupChannel,
    SignupForm,
    SignupStatus,
    utcnow,
)
from textcast.services import signups
from textcast.services.signups import SubmissionGroups

POLICY = SignupPolicy(
    secret=b"k", sender=None, confirmation_window=timedelta(hours=72), daily_quota=0
)


def _request(list_id: int, form_id: int, phone: str, **changes: Any) -> SignupRequest:
    values: dict[str, Any] = {
        "channel": SignupChannel.FORM,
        "phone": phone,
        "list_id": list_id,
        "double_opt_in": True,
        "confirmation_text": "Shop: reply Y to confirm.",
        "welcome_text": "Shop: welcome!",
        "form_id": form_id,
        "confirmations_per_hour": 2,
    }
    values.update(changes)
    return SignupRequest(**values)


def _kinds(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(str(k) for k in session.scalars(select(Campaign.kind)))


async def _submit_together(groups: SubmissionGroups, requests: list[SignupRequest]) -> list[Any]:
    outcomes = await asyncio.gather(
        *(groups.submit(request) for request in requests), return_exceptions=True
    )
    await groups.aclose()
    return outcomes


def test_a_group_keeps_every_rule_of_one_sign_up_after_the_other(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    form_id = make_form(database, list_id).id
    requests = [
        _request(list_id, form_id, "+12015550001"),
        _request(list_id, form_id, "+12015550001"),  # the same number: no second text
        _request(list_id, form_id, "+12015550002", double_opt_in=False),  # subscribed at once
        _request(list_id, form_id, "+12015550003"),  # the form's second text this hour
        _request(list_id, form_id, "+12015550004"),  # past the cap
        _request(list_id, form_id, "+12015550005"),  # past the cap: still one alert
    ]
    outcomes = asyncio.run(_submit_together(SubmissionGroups(database, lambda: POLICY), requests))

    assert [type(o).__name__ for o in outcomes] == ["Signup"] * 4 + ["CapReached"] * 2
    assert outcomes[1].confirmation_held == ONE_PER_DAY
    assert outcomes[2].status == SignupStatus.CONFIRMED
    assert all(o.id for o in outcomes[:4])
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 4
        alerts = session.scalars(select(AuditEntry).where(AuditEntry.action == CAP_REACHED))
        assert [a.target for a in alerts] == [f"form:{form_id}"]
    assert _kinds(database) == sorted(
        [CampaignKind.CONFIRMATION, CampaignKind.WELCOME, CampaignKind.CONFIRMATION]
    )


def test_the_daily_quota_holds_inside_a_group(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    form_id = make_form(database, list_id).id
    tight = SignupPolicy(
        secret=b"k", sender=None, confirmation_window=timedelta(hours=72), daily_quota=2
    )
    requests = [
        _request(list_id, form_id, f"+1201555000{n}", confirmations_per_hour=0) for n in range(4)
    ]
    outcomes = asyncio.run(_submit_together(SubmissionGroups(database, lambda: tight), requests))
    assert [isinstance(o, Signup) for o in outcomes] == [True, True, False, False]
    assert all(isinstance(o, TooManyRequests) for o in outcomes[2:])
    assert not any(isinstance(o, CapReached) for o in outcomes)
    assert _kinds(database) == [CampaignKind.CONFIRMATION] * 2


def test_one_submission_refused_by_the_cap_commits_the_alert_alone(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    form_id = make_form(database, list_id).id
    signups.submit(database, POLICY, _request(list_id, form_id, "+12015550001"))
    signups.submit(database, POLICY, _request(list_id, form_id, "+12015550002"))
    try:
        signups.submit(database, POLICY, _request(list_id, form_id, "+12015550003"))
    except CapReached:
        pass
    else:
        raise AssertionError("the third text this hour went past the cap of 2")
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 2
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions == [CAP_REACHED]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_form_is_read_at_most_once_a_second_for_submissions(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    make_form(database, list_id, slug="vip")
    clock = _Clock()
    forms = signups.FormCache(database, ttl=1.0, clock=clock)
    assert forms.get("vip") is not None and forms.get("nope") is None
    with database.write() as session:
        session.execute(update(SignupForm).values(archived_at=utcnow()))
        session.add(SignupForm(**{**_form_values(list_id), "slug": "nope"}))
    clock.now = 0.9
    assert forms.get("vip") is not None and forms.get("nope") is None
    clock.now = 1.0
    assert forms.get("vip") is None and forms.get("nope") is not None


def test_views_and_blocked_submissions_are_written_together_every_few_seconds(
    database: Database,
) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    make_form(database, list_id, slug="vip")
    clock = _Clock()
    activity = signups.FormActivity(database, every=2.0, clock=clock)

    def counts() -> tuple[int, int]:
        with database.read() as session:
            row = session.execute(select(SignupForm.views, SignupForm.blocked)).one()
            return row[0], row[1]

    for _ in range(5):
        activity.viewed("vip")
    activity.blocked("vip")
    activity.blocked("missing")  # a made-up slug counts nothing anywhere
    assert counts() == (0, 0)
    clock.now = 2.0
    activity.viewed("vip")
    assert counts() == (6, 1)
    activity.blocked("vip")
    activity.flush()
    assert counts() == (6, 2)


def _form_values(list_id: int) -> dict[str, Any]:
    return {
        "name": "Other",
        "list_id": list_id,
        "title": "Join",
        "fields": [],
        "disclosure": "d",
        "confirmation_text": "Reply Y",
        "allowed_countries": ["US"],
        "allowed_origins": [],
    }
