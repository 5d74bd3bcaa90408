"""Plan time: `POST /api/v1/campaigns/{id}/plan`'s work for 100,000 recipients.

The audience is 100,000 contacts in a list, with first names, a personalised body, smart
encoding and send windows, so every recipient is rendered, counted, priced and timed.
Prints the plan's duration. Target: under 5 s.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import insert

from bench.common import drop_database, fresh_database, numbers
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.campaigns import planning
from textcast.models import Contact, ContactList, ListMember, utcnow
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
        with database.write() as session:
            audience = ContactList(name="bench", created_at=now)
            session.add(audience)
            session.flush()
            phones = numbers(args.recipients)
            for start in range(0, len(phones), 10_000):
                chunk = phones[start : start + 10_000]
                ids = session.scalars(
                    insert(Contact).returning(Contact.id),
                    [
                        {
                            "phone": phone,
                            "first_name": f"Name{i % 977}" if i % 10 else None,
                            "attributes": {"tier": "gold"} if i % 3 == 0 else {},
                            "country": "US",
                            "time_zone": "America/New_York",
                            "status": "subscribed",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i, phone in enumerate(chunk, start)
                    ],
                ).all()
                session.execute(
                    insert(ListMember),
                    [{"list_id": audience.id, "contact_id": i, "added_at": now} for i in ids],
                )
            draft = campaigns.CampaignDraft(
                "bench",
                'Hi {{ first_name | default("there") }}, your {{ tier | default("new") }} '
                "offer \u2013 20% off today",
                list_ids=[audience.id],
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
