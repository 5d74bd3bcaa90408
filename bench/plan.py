"""Plan time: `POST /api/v1/campaigns/{id}/plan`'s work for 100,000 recipients.

The audience is 100,000 contacts in a list, with first names, a personalised body, smart
encoding and send windows, so every recipient is rendered, counted, priced and timed.
Prints the plan's duration. Target: under 5 s.
"""

from __future__ import annotations

import argparse
import time

from bench.common import drop_database, fresh_database, seed_list
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.campaigns import planning
from textcast.models import utcnow
from textcast.runtime import sending_policy


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
        with database.write() as session:
            draft = campaigns.CampaignDraft(
                "bench",
                'Hi {{ first_name | default("there") }}, your {{ tier | default("new") }} '
                "offer \u2013 20% off today",
                list_ids=[list_id],
                smart_encoding=True,
            )
            campaign = campaigns.create_campaign(session, draft, "US")
        policy = sending_policy(load_settings(database_url=url, secret_key="b" * 32))
        started = time.perf_counter()
        with database.read() as session:
            result = planning.plan(
                session, campaigns.get_campaign(session, campaign.id), policy, now
            )
        elapsed = time.perf_counter() - started
        totals = result.totals
        print(
            f"plan[{args.database}]: {result.audience:,} recipients in {elapsed:.2f} s "
            f"({totals.recipients:,} to send, {totals.parts:,} parts, "
            f"{totals.cost:,.2f} {result.currency}; target < 5 s)"
        )
    finally:
        database.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
