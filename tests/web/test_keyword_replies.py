"""Keyword replies are capped (against SMS pumping): per hour, and within the daily quota."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import make_campaign, numbers
from tests.servers import serving
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.errors import TooManyRequests
from textcast.models import AuditEntry, Campaign, CampaignKind, Contact, ContactStatus
from textcast.runtime import sending_policy
from textcast.web.app import create_app

INBOUND_PATH = "/api/webhooks/inbound"


Post = Callable[[bytes], httpx.Response]


@contextmanager
def _clients(database_url: str, count: int = 1, **settings: Any) -> Iterator[list[Post]]:
    """`count` apps on one database, as `serve` processes on several nodes would be; each
    posts a callback signed as the built-in simulator signs it."""
    config = load_settings(database_url=database_url, secret_key="tests", **settings)

    def poster(client: TestClient) -> Post:
        return lambda body: client.post(
            INBOUND_PATH, content=body, headers=signed_by_sinch(config, body)
        )

    with ExitStack() as stack:
        yield [
            poster(
                stack.enter_context(TestClient(create_app(config, dispatch=False, simulator=False)))
            )
            for _ in range(count)
        ]


def _replies(database: Database) -> list[str]:
    with database.read() as session:
        return list(
            session.scalars(
                select(Campaign.name)
                .where(Campaign.kind == CampaignKind.REPLY)
                .order_by(Campaign.id)
            )
        )


def _held_entries(database: Database) -> list[tuple[str | None, dict[str, Any]]]:
    with database.read() as session:
        rows = session.execute(
            select(AuditEntry.target, AuditEntry.detail).where(
                AuditEntry.action == "keyword_replies_held"
            )
        ).all()
    return [(target, detail) for target, detail in rows]


def _opted_out(database: Database) -> set[str]:
    with database.read() as session:
        return set(
            session.scalars(
                select(Contact.phone).where(Contact.status == ContactStatus.UNSUBSCRIBED)
            )
        )


def test_replies_past_the_hourly_cap_are_held_back_across_processes_but_keywords_apply(
    database_url: str, database: Database
) -> None:
    senders = numbers(8)
    with _clients(database_url, 2, keyword_replies_per_hour=3) as (first, second):
        for i, phone in enumerate(senders):
            post = (first, second)[i % 2]  # an in-memory count would allow 3 per process
            answer = post(inbound_callback(i, phone, ("HELP", "STOP")[i // 4]))
            assert answer.json() == {"status": "stored"}
    assert _replies(database) == ["Automatic replies: HELP"] * 3
    assert _opted_out(database) == set(senders[4:])  # every STOP honoured, none answered
    held = _held_entries(database)
    assert len(held) == 1  # once when the cap trips, not once per held reply
    assert held[0][0] == "KEYWORD_REPLIES_PER_HOUR"
    assert "cap of 3" in held[0][1]["reason"]


def test_concurrent_keywords_get_no_more_replies_than_the_cap(
    database_url: str, database: Database
) -> None:
    config = load_settings(
        database_url=database_url, secret_key="tests", keyword_replies_per_hour=5
    )
    app = create_app(config, dispatch=False, simulator=False)
    bodies = [inbound_callback(i, phone, "HELP") for i, phone in enumerate(numbers(40))]
    with serving(app) as url, ThreadPoolExecutor(16) as pool:
        answers = list(
            pool.map(
                lambda body: httpx.post(
                    url + INBOUND_PATH, content=body, headers=signed_by_sinch(config, body)
                ),
                bodies,
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert len(_replies(database)) == 5


def test_keyword_replies_count_toward_the_daily_quota_and_stop_at_it(
    database_url: str, database: Database
) -> None:
    make_campaign(database, numbers(3, start=100), launch=True)
    senders = numbers(4)
    with _clients(database_url, daily_recipient_quota=5, keyword_replies_per_hour=0) as (post,):
        for i, phone in enumerate(senders):
            answer = post(inbound_callback(i, phone, ("START", "STOP")[i % 2]))
            assert answer.json() == {"status": "stored"}
    assert _replies(database) == [
        "Automatic replies: START",
        "Automatic replies: STOP",
    ]  # 3 + 2 reach the quota
    assert _opted_out(database) == {senders[1], senders[3]}
    [(target, _)] = _held_entries(database)
    assert target == "DAILY_RECIPIENT_QUOTA"
    # The replies used the quota a campaign launch checks as well.
    campaign = make_campaign(database, numbers(1, start=200))
    policy = sending_policy(load_settings(database_url=database_url, daily_recipient_quota=5))
    with pytest.raises(TooManyRequests, match="5 recipients launched"), database.write() as session:
        campaigns.launch_campaign(session, campaign.id, policy)
