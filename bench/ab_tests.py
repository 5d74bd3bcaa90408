"""A/B tests at 100,000 recipients: the launch (the pool drawn, each variant's share launched),
the results as a page reads them, and the decision (the winner launched to the rest), against
a plain launch of the same campaign.

The audience is 100,000 contacts in a list and the texts are personalised, so every recipient
is evaluated as a launch evaluates it. Prints one line with the durations.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from bench.common import drop_database, fresh_database, seed_list
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.models import AbMetric, utcnow
from textcast.runtime import sending_policy

BODIES = (
    'Hi {{ first_name | default("there") }}, 20% off today. Reply STOP to opt out',
    'Hi {{ first_name | default("there") }}, our sale ends tonight. Reply STOP to opt out',
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()
    url = fresh_database(args.database)
    database = Database(url)
    try:
        now = utcnow()
        list_id = seed_list(database, args.recipients, now)
        policy = sending_policy(load_settings(database_url=url, secret_key="b" * 32))
        test = experiments.AbTestDraft(bodies=BODIES, metric=AbMetric.DELIVERY)
        with database.write() as session:
            plain = campaigns.create_campaign(
                session, campaigns.CampaignDraft("plain", BODIES[0], list_ids=[list_id]), "US"
            )
            tested = campaigns.create_campaign(
                session, campaigns.CampaignDraft("tested", BODIES[0], list_ids=[list_id]), "US"
            )
            experiments.set_test(session, tested.id, test)
        plain_s = timed(database, lambda s: campaigns.launch_campaign(s, plain.id, policy))
        launch_s = timed(database, lambda s: experiments.launch_test(s, tested.id, policy))
        started = time.perf_counter()
        with database.read() as session:
            experiments.results_of(session, tested.id, utcnow())
        results_ms = (time.perf_counter() - started) * 1000
        decide_s = timed(
            database,
            lambda s: experiments.decide(s, tested.id, policy, now=utcnow(), pick="B"),
        )
        print(
            f"ab_tests[{args.database}]: {args.recipients:,} recipients: plain launch "
            f"{plain_s:.2f} s; A/B launch (20% pool, 2 variants) {launch_s:.2f} s; results "
            f"{results_ms:.0f} ms; decision with the rest's launch {decide_s:.2f} s"
        )
    finally:
        database.dispose()
        drop_database(url)


def timed(database: Database, work: Callable[[Session], object]) -> float:
    started = time.perf_counter()
    with database.write() as session:
        work(session)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
