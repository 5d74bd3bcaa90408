"""The dispatcher, against the simulator over HTTP, records what Sinch made of each batch: a
`message.sent` per accepted message, a `message.failed` per message of a refused batch, and
the marketing campaign's start and completion."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.domain.test_event_emission import recorded, subscribe, types_recorded
from tests.factories import make_campaign, numbers
from tests.sending.test_dispatcher import _dispatch_until_done

from textcast.db import Database
from textcast.models import EventType
from textcast.sending.dispatcher import DispatcherConfig
from textcast.simulator import SimulatorConfig, running_simulator


def test_each_accepted_message_is_sent_once_and_the_campaign_starts_and_completes(
    database: Database,
) -> None:
    subscribe(database, "*")
    campaign = make_campaign(database, numbers(25), launch=True)
    config = DispatcherConfig(callback_url=None, delivery_report="none", batch_size=10)
    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(_dispatch_until_done(database, sim.base_url, config, campaign.id))
    sent = recorded(database, EventType.MESSAGE_SENT)
    assert sorted(e["phone"] for e in sent) == sorted(numbers(25))
    assert len({e["message_id"] for e in sent}) == 25
    assert sorted(Counter(e["batch_id"] for e in sent).values()) == [5, 10, 10]
    assert Counter(types_recorded(database)) == {
        "campaign.started": 1,
        "message.sent": 25,
        "campaign.completed": 1,
    }
    (completed,) = recorded(database, EventType.CAMPAIGN_COMPLETED)
    assert (completed["campaign_id"], completed["recipients"]) == (campaign.id, 25)


def test_a_refused_batch_fails_each_message_with_sinchs_status_and_error(
    database: Database,
) -> None:
    subscribe(database, EventType.MESSAGE_SENT, EventType.MESSAGE_FAILED)
    campaign = make_campaign(database, numbers(3), launch=True)
    # Asking for delivery reports without any callback URL is a 403 `missing_callback_url`.
    config = DispatcherConfig(callback_url=None, delivery_report="per_recipient_final")
    with running_simulator(SimulatorConfig(default_callback_url=None)) as sim:
        asyncio.run(_dispatch_until_done(database, sim.base_url, config, campaign.id))
    failed = recorded(database)
    assert sorted(e["phone"] for e in failed) == sorted(numbers(3))
    assert {(e["status"], e["code"], e["meaning"]) for e in failed} == {
        (
            "failed",
            403,
            "missing_callback_url: Requesting delivery report without any callback URL.",
        )
    }
