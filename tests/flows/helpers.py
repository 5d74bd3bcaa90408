"""Shared by the flow tests: a clock the test moves, contacts, flows and the engine by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import flows
from textcast.domain.audience import contacts
from textcast.domain.campaigns.planning import Policy
from textcast.models import Campaign, CampaignKind, FlowRun, Message
from textcast.runtime import sending_policy

SECRET = b"flow-test-secret"
START = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
"""Noon in New York: inside every US send window."""


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def policy(**settings: Any) -> Policy:
    return sending_policy(load_settings(secret_key=SECRET.decode(), **settings))


def contact(database: Database, phone: str, **fields: Any) -> int:
    with database.write() as session:
        draft = contacts.ContactDraft(phone=phone, time_zone="America/New_York", **fields)
        return contacts.create_contact(session, draft, "US", "test", SECRET).id


def flow(database: Database, definition: dict[str, Any], name: str = "Flow") -> int:
    with database.write() as session:
        return flows.create_flow(session, name, definition, publish=True).flow.id


def advance(database: Database, policy: Policy, now: datetime) -> flows.Advanced:
    total = flows.Advanced()
    while True:
        with database.write() as session:
            done = flows.advance_due(session, policy, now)
        total.woken += done.woken
        total.queued += done.queued
        total.skipped += done.skipped
        total.ended += done.ended
        total.held += done.held
        if not done.full:
            return total


def flow_texts(database: Database) -> list[tuple[str, str, str]]:
    """(phone, step campaign body, message status) of every flow text, in order."""
    with database.read() as session:
        rows = session.execute(
            select(Message.phone, Campaign.body, Message.status)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(Campaign.kind == CampaignKind.FLOW)
            .order_by(Message.id)
        )
        return [(p, b, str(s)) for p, b, s in rows]


def run_states(database: Database) -> Counter[str]:
    with database.read() as session:
        return Counter(str(s) for s in session.scalars(select(FlowRun.status)))
