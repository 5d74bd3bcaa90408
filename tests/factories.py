"""Builders with defaults, so each test states only what it is about."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import campaigns, outbox
from textcast.domain.accounts import api_keys, passwords
from textcast.domain.accounts.permissions import Scope
from textcast.domain.campaigns.planning import Policy
from textcast.models import Campaign, Role, User

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
