"""Builders with defaults, so each test states only what it is about."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import campaigns, experiments, outbox, signups
from textcast.domain.accounts import api_keys, passwords
from textcast.domain.accounts.permissions import Scope
from textcast.domain.campaigns.planning import Policy
from textcast.models import (
    Campaign,
    InboundMessage,
    ListKeyword,
    Role,
    SignupChannel,
    SignupForm,
    User,
    utcnow,
)

PASSWORD = "correct horse battery staple"
_serial = itertools.count(1)


def numbers(count: int, start: int = 0) -> list[str]:
    """Fictional, valid North American mobile-capable numbers."""
    return [f"+1201{555 + (i // 10_000):03d}{i % 10_000:04d}" for i in range(start, start + count)]


def make_campaign(
    database: Database,
    recipients: list[str] | None = None,
    *,
    body: str = "Spring sale: 20% off today. Reply STOP to opt out.",
    launch: bool = False,
) -> Campaign:
    draft = campaigns.CampaignDraft(
        name="Test campaign", body=body, recipients=recipients or numbers(3)
    )
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        if launch:
            campaigns.launch_campaign(session, campaign.id)
    return campaign


def make_ab_test(
    database: Database,
    policy: Policy,
    bodies: tuple[str, ...],
    launched_at: datetime,
    *,
    audience: int = 100,
    **settings: Any,
) -> int:
    """A text test of `bodies` on `audience` numbers, launched at `launched_at`: a 20% pool,
    10 texts a variant enough to decide, 4 hours after the pool is sent, unless `settings`
    say otherwise (`experiments.AbTestDraft`'s fields)."""
    draft = campaigns.CampaignDraft(name="Spring", body=bodies[0], recipients=numbers(audience))
    chosen = {"pool_percent": 20, "min_sample": 10, "decide_after_minutes": 240, **settings}
    test = experiments.AbTestDraft(bodies=bodies, **chosen)
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, test)
        experiments.launch_test(session, campaign.id, policy, now=launched_at)
    return campaign.id


@functools.cache
def _password_hash() -> str:
    """Argon2 costs ~50 ms per hash on purpose; the tests' users share one."""
    return passwords.hash_password(PASSWORD)


def make_user(
    database: Database, email: str = "admin@example.com", role: Role = Role.ADMIN
) -> User:
    """A user whose password is `PASSWORD`."""
    with database.write() as session:
        user = User(email=email, password_hash=_password_hash(), role=role)
        session.add(user)
    return user


def make_api_key(
    database: Database,
    role: Role = Role.ADMIN,
    scopes: frozenset[Scope] | None = None,
    email: str | None = None,
) -> str:
    """A key (the secret itself) of a new user with this role: all the role allows by default."""
    user = make_user(database, email or f"{role.value}-{next(_serial)}@example.com", role)
    wanted = (
        scopes
        or {
            Role.ADMIN: frozenset({Scope.ADMIN}),
            Role.EDITOR: frozenset({Scope.SEND}),
            Role.VIEWER: frozenset({Scope.READ}),
        }[role]
    )
    with database.write() as session:
        owner = session.get(User, user.id)
        assert owner is not None
        return api_keys.create_key(session, owner, "tests", wanted).secret


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def authorize(client: Any, database_url: str, role: Role = Role.ADMIN) -> str:
    """Give a test client (TestClient or httpx.Client) an API key of a new user with `role`."""
    database = Database(database_url)
    try:
        key = make_api_key(database, role)
    finally:
        database.dispose()
    client.headers["Authorization"] = f"Bearer {key}"
    return key


def claim_batch(
    session: Session,
    campaign_id: int,
    size: int,
    secret: bytes,
    *,
    post_now: bool = False,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> outbox.ClaimedBatch | None:
    """A claim and its screening in one transaction (the dispatcher commits between the
    two), claiming again until a batch has recipients left."""
    while claims := outbox.claim_batches(session, campaign_id, size, 1, now):
        screened = outbox.screen_claims(
            session, claims, secret, post_now=post_now, policy=policy, now=now
        )
        if screened:
            return screened[0]
    return None


def make_form(database: Database, list_id: int, **changes: Any) -> SignupForm:
    """A sign-up form of the list, hosted at `/join/{slug}` (slug `form-N` unless given)."""
    values: dict[str, Any] = {
        "slug": f"form-{next(_serial)}",
        "name": "Newsletter",
        "list_id": list_id,
        "title": "Get our texts",
        "fields": [{"name": "first_name", "required": False}],
        "disclosure": (
            "By submitting, you agree to receive recurring automated marketing texts from "
            "Shop at the number given. Consent is not a condition of purchase. Msg frequency "
            "varies. Msg & data rates may apply. Reply HELP for help, STOP to cancel."
        ),
        "disclosure_version": 1,
        "double_opt_in": True,
        "allowed_countries": ["US"],
        "confirmation_text": "Shop: reply Y to confirm your subscription. Reply STOP to cancel.",
        "welcome_text": "Shop: welcome! Here is 10% off: SAVE10. Reply STOP to opt out.",
        "allowed_origins": [],
        "language": "en",
        "confirmations_per_hour": 100,
        "views": 0,
        "blocked": 0,
    }
    values.update(changes)
    with database.write() as session:
        form = SignupForm(**values)
        session.add(form)
    return form


def make_keyword(
    database: Database, list_id: int, word: str = "VIP", **changes: Any
) -> ListKeyword:
    values: dict[str, Any] = {
        "word": word,
        "list_id": list_id,
        "double_opt_in": True,
        "confirmation_text": f"Shop: reply Y to join {word} texts. Reply STOP to cancel.",
        "welcome_text": f"Shop: welcome to {word}! Reply STOP to opt out.",
        "already_subscribed_text": f"Shop: you are already on the {word} list.",
    }
    values.update(changes)
    with database.write() as session:
        keyword = ListKeyword(**values)
        session.add(keyword)
    return keyword


SIGNUP_POLICY = signups.SignupPolicy(
    secret=b"k", sender=None, confirmation_window=timedelta(hours=72), daily_quota=0
)
"""For sign-ups started directly in the domain (no quota)."""


def form_signup(form: SignupForm, phone: str, **changes: Any) -> signups.SignupRequest:
    """A sign-up on `form` as its page would submit it, with a browser's evidence."""
    values: dict[str, Any] = {
        "channel": SignupChannel.FORM,
        "phone": phone,
        "list_id": form.list_id,
        "double_opt_in": True,
        "confirmation_text": form.confirmation_text,
        "welcome_text": None,
        "form_id": form.id,
        "fields": {"phone": phone, "first_name": "Ana"},
        "disclosure": form.disclosure,
        "disclosure_version": form.disclosure_version,
        "page_url": f"https://texts.example.com/join/{form.slug}",
        "referer": "https://shop.example.com/deals",
        "origin": "https://shop.example.com",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chromium/131",
        "language": "en",
    }
    values.update(changes)
    return signups.SignupRequest(**values)


def reply_y(
    session: Session, policy: signups.SignupPolicy, phone: str, provider_id: str | None = None
) -> InboundMessage:
    """The person's "Y" from `phone`, stored and applied to their latest pending sign-up,
    which it must confirm."""
    reply = InboundMessage(
        provider_id=provider_id or f"mo-y-{phone}",
        from_phone=phone,
        to="+1555",
        body="Y",
        received_at=utcnow(),
    )
    session.add(reply)
    session.flush()
    assert signups.confirm_latest(session, policy, reply) is not None
    return reply
