"""Webhook ingestion: per-recipient delivery reports posted concurrently (wrk) for 30 s.

Prints durable callbacks per second (a 2xx is sent only after the commit; stored rows must
equal the 2xx count) and the p99 latency. Target on SQLite: >= 6,000/s with p99 <= 50 ms.
Needs Debian's `wrk`.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import shutil

from sqlalchemy import func, insert, select

from bench.common import (
    drop_database,
    free_port,
    fresh_database,
    lua_thread_offsets,
    numbers,
    run_wrk,
    start,
    wait_for_http,
)
from textcast.db import Database
from textcast.domain import campaigns, outbox
from textcast.domain.webhooks import signatures
from textcast.models import Contact, OutboundEvent, WebhookEvent, WebhookSubscription

# Each wrk thread numbers its requests from its own offset; request i reports on recipient
# i mod N of the campaign (batch i // 1000), with a unique `at` so every request is a new event.
LUA = (
    lua_thread_offsets(1_000_000_000)
    + """
local total = %(total)d
function request()
  local n = offset + counter
  counter = counter + 1
  local i = n %% total
  local phone = string.format("1201%%03d%%04d", 555 + math.floor(i / 10000), i %% 10000)
  local batch = string.format("BENCH%%06d", math.floor(i / 1000))
  local at = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", 1700000000 + math.floor(n / 1000))
  local body = string.format(
    '{"at":"%%s.%%03dZ","batch_id":"%%s","code":0,"operator_status_at":"2026-01-01T00:00:00Z",'
      .. '"recipient":"%%s","status":"Delivered","type":"recipient_delivery_report_sms"}',
    at, n %% 1000, batch, phone)
  local headers = {["Content-Type"]="application/json", ["Authorization"]="%(authorization)s"}
  return wrk.format("POST", "/api/webhooks/delivery-reports", headers, body)
end
"""
)


def prepare(url: str, recipients: int, with_contacts: bool = False) -> None:
    """A sent campaign whose batches carry predictable provider ids, as after a real send.

    `with_contacts`: its numbers are contacts too, so that each delivery looks up its number's
    failure streak (list hygiene), as in a real audience."""
    database = Database(url)
    if with_contacts:
        with database.write() as session:
            session.execute(
                insert(Contact),
                [{"phone": n, "country": "US", "attributes": {}} for n in numbers(recipients)],
            )
    draft = campaigns.CampaignDraft("bench", "Benchmark", numbers(recipients))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id)
    index = 0
    while True:
        # Claimed, screened and accepted as the dispatcher does it, one batch at a time: the
        # n-th thousand numbers make batch BENCH<n>, as the Lua script expects.
        with database.write() as session:
            claims = outbox.claim_batches(session, campaign.id, 1000, 1)
        if not claims:
            break
        with database.write() as session:
            for batch in outbox.screen_claims(session, claims, b"bench-key", post_now=True):
                outbox.record_accepted(session, batch.id, f"BENCH{index:06d}")
        index += 1
    database.dispose()


def subscribe_to_everything(url: str) -> None:
    """One subscription wanting every event (nothing delivers it: the server runs without
    the webhook senders' work mattering here, the events and deliveries are what is written)."""
    database = Database(url)
    with database.write() as session:
        session.add(
            WebhookSubscription(
                url="https://hooks.example.com/bench",
                event_types=["*"],
                secret=signatures.new_secret(),
            )
        )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--contacts", action="store_true", help="the numbers are contacts (list hygiene's lookup)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="`serve --workers`: one per core is best"
    )
    parser.add_argument(
        "--subscribed",
        action="store_true",
        help="a webhook subscription wants every event: each delivery is an event too",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/webhooks.py needs wrk: apt-get install wrk")

    url = fresh_database(args.database)
    prepare(url, args.recipients, args.contacts)
    if args.subscribed:
        subscribe_to_everything(url)
    port = free_port()
    # Webhooks are never anonymous: wrk cannot sign each body (HMAC), so the callbacks carry
    # basic auth, as Sinch's do when the account manager sets it up.
    credentials = f"sinch:{secrets.token_urlsafe(24)}"
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    server = start(
        ["serve", "--no-dispatcher", "--workers", str(args.workers), "--log-level", "warning"],
        {
            "DATABASE_URL": url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "WEBHOOK_BASIC_AUTH": credentials,
        },
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        run = run_wrk(
            LUA % {"total": args.recipients, "authorization": authorization},
            f"http://127.0.0.1:{port}",
            args.connections,
            args.seconds,
        )
    finally:
        server.terminate()
        server.wait(10)
    requests, failed, p99_ms = run.requests, run.failed, run.p99_ms
    database = Database(url)
    with database.read() as session:
        rows = session.scalar(select(func.count()).select_from(WebhookEvent)) or 0
        events = session.scalar(select(func.count()).select_from(OutboundEvent)) or 0
    database.dispose()
    drop_database(url)
    ok = requests - failed
    # wrk stops counting at the deadline: requests still in flight may be stored, never fewer.
    consistent = ok <= rows <= ok + args.connections
    contacts = ", contacts" if args.contacts else ""
    contacts += f", subscribed: {events:,} events" if args.subscribed else ""
    print(
        f"webhooks[{args.database}, {args.workers} workers{contacts}]: "
        f"{ok / args.seconds:,.0f} durable callbacks/s, "
        f"p99 {p99_ms:.1f} ms ({ok:,} 2xx, {failed} non-2xx, "
        f"{rows:,} rows stored{'' if consistent else ' MISMATCH'})"
    )


if __name__ == "__main__":
    main()
