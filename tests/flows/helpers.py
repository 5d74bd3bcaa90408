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
from textcast.models import Campaign, CampaignKind, FlowRun, FlowRunStep, Message
from textcast.runtime import sending_policy
from textcast.sending.flow_engine import FlowEngine

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


def engine(database: Database, clock: Clock, rules: Policy | None = None) -> FlowEngine:
    """The runtime's flow engine on the test's clock: `tick()` scans, then moves runs on."""
    chosen = rules or policy()
    return FlowEngine(database, policy_source=lambda: chosen, clock=clock)


def runs_of(database: Database, flow_id: int | None = None) -> list[FlowRun]:
    """The runs (of one flow), oldest first, detached from their session."""
    with database.read() as session:
        query = select(FlowRun).order_by(FlowRun.id)
        if flow_id is not None:
            query = query.where(FlowRun.flow_id == flow_id)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def history(database: Database, run_id: int) -> list[tuple[str, str]]:
    """(step id, outcome) of each step the run reached, in order."""
    with database.read() as session:
        rows = session.execute(
            select(FlowRunStep.step_id, FlowRunStep.outcome)
            .where(FlowRunStep.run_id == run_id)
            .order_by(FlowRunStep.id)
        )
        return [(step, outcome) for step, outcome in rows]


def subscribe(database: Database, contact_id: int, phone: str, now: datetime) -> None:
    """The contact subscribes (as a confirmed sign-up does) without lists."""
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(contact_id, phone), [], now)
