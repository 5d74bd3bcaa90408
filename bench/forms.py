"""Public sign-up forms: one result line for each of two measures.

1. Submissions stored per second: wrk posts the hosted form (a new number each time, as a
   browser does: urlencoded, answered 303) to `textcast serve --no-dispatcher` for 30 s. Each
   answer is sent only after its sign-up (and its queued confirmation text) is committed: the
   rows stored must match the 303s. Target on SQLite, 2 cores: >= 1,000/s.
2. Submit to confirmation accepted by Sinch: `textcast serve` with its dispatcher and the
   built-in simulator, a moderate rate of submissions from here; the time from sending each
   one to its confirmation text's acceptance (`messages.sent_at`). Target: p95 <= 2 s.

The abuse limits are raised through the environment for the run (one address sends it all);
the daily quota is off (`DAILY_RECIPIENT_QUOTA=0`: its count reads every launch of the last
24 hours, see docs/signups.md). Needs Debian's `wrk`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

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
from textcast.domain.audience import lists
from textcast.models import Campaign, CampaignKind, Message, Signup, SignupForm

SLUG = "bench"
LIMITS = {
    "SIGNUP_LIMIT_PER_IP": "100000000/hour",
    "SIGNUP_LIMIT_PER_NUMBER": "1000/day",
    "DAILY_RECIPIENT_QUOTA": "0",
    "SECRET_KEY": "bench-forms-secret",
}

# Request n of thread t posts number t * 1,000,000 + n (the same numbering as bench.common).
LUA = (
    lua_thread_offsets(1_000_000)
    + """
function request()
  local i = offset + counter
  counter = counter + 1
  local phone = string.format("%%%%2B1201%%03d%%04d", 555 + math.floor(i / 10000), i %% 10000)
  local body = "phone=" .. phone .. "&first_name=Ana&company_website="
  local headers = {["Content-Type"]="application/x-www-form-urlencoded",
                   ["User-Agent"]="bench/forms"}
  return wrk.format("POST", "/join/%(slug)s", headers, body)
end
"""
)


def prepare(url: str) -> None:
    """A list and its form, taking US numbers, with no hourly cap on confirmation texts."""
    database = Database(url)
    with database.write() as session:
        list_id = lists.create_list(session, "Bench").id
        session.add(
            SignupForm(
                slug=SLUG,
                name="Bench",
                list_id=list_id,
                title="Get our texts",
                fields=[{"name": "first_name", "required": False}],
                disclosure="By submitting, you agree to receive recurring automated marketing "
                "texts. Consent is not a condition of purchase. Msg & data rates may apply. "
                "Reply HELP for help, STOP to cancel.",
                allowed_countries=["US"],
                allowed_origins=[],
                confirmation_text="Bench: reply Y to confirm. Reply STOP to cancel.",
                welcome_text=None,
                confirmations_per_hour=0,
            )
        )
    database.dispose()


def throughput(kind: str, seconds: int, connections: int, workers: int) -> None:
    url = fresh_database(kind)
    prepare(url)
    port = free_port()
    secrets_dir = tempfile.mkdtemp(prefix="textcast-bench-")
    server = start(
        ["serve", "--no-dispatcher", "--workers", str(workers), "--log-level", "warning"],
        {
            "DATABASE_URL": url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "SECRET_KEY_FILE": f"{secrets_dir}/secret",
            **LIMITS,
        },
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        run = run_wrk(LUA % {"slug": SLUG}, f"http://127.0.0.1:{port}", connections, seconds)
    finally:
        server.terminate()
        server.wait(10)
    requests, failed, p99_ms = run.requests, run.failed, run.p99_ms
    database = Database(url)
    with database.read() as session:
        stored = session.scalar(select(func.count()).select_from(Signup)) or 0
        texts = session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(Campaign.kind == CampaignKind.CONFIRMATION)
        )
    database.dispose()
    drop_database(url)
    ok = requests - failed
    # wrk stops counting at the deadline: requests in flight may be stored, never fewer.
    consistent = ok <= stored <= ok + connections and texts == stored
    print(
        f"forms[{kind}, {workers} workers]: {ok / seconds:,.0f} durable submissions/s, "
        f"p99 {p99_ms:.1f} ms ({ok:,} answered, {failed} refused, {stored:,} sign-ups and "
        f"{texts:,} confirmation texts stored{'' if consistent else ' MISMATCH'})"
    )


def latency(kind: str, rate: float, seconds: float) -> None:
    url = fresh_database(kind)
    prepare(url)
    port = free_port()
    secrets_dir = tempfile.mkdtemp(prefix="textcast-bench-")
    server = start(
        ["serve", "--log-level", "warning"],
        {
            "DATABASE_URL": url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "BASE_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY_FILE": f"{secrets_dir}/secret",
            **LIMITS,
        },
    )
    database = Database(url)
    submitted: dict[str, float] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")
        count = int(rate * seconds)
        with httpx.Client(base_url=base, timeout=10) as client:
            started = time.time()
            for n, phone in enumerate(numbers(count)):
                time.sleep(max(0.0, started + n / rate - time.time()))
                submitted[phone] = time.time()
                answer = client.post(f"/join/{SLUG}", data={"phone": phone})
                assert answer.status_code == 303, answer.text
        accepted = _wait_for_acceptance(database, count, timeout=30.0)
    finally:
        server.terminate()
        server.wait(10)
        database.dispose()
        drop_database(url)
    waits = sorted(accepted[phone] - submitted[phone] for phone in accepted)
    p95 = waits[max(0, int(len(waits) * 0.95) - 1)]
    print(
        f"forms[{kind}] submit to confirmation accepted by Sinch: p95 {p95 * 1000:,.0f} ms, "
        f"median {statistics.median(waits) * 1000:,.0f} ms ({len(waits)} of {len(submitted)} "
        f"accepted, {rate:g} submissions/s for {seconds:g} s, dispatcher and simulator running)"
    )


def _wait_for_acceptance(database: Database, count: int, timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        with database.read() as session:
            rows = session.execute(
                select(Message.phone, Message.sent_at)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.kind == CampaignKind.CONFIRMATION, Message.sent_at.is_not(None))
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return {phone: _epoch(sent_at) for phone, sent_at in rows if sent_at is not None}
        time.sleep(0.2)


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20.0, help="submissions/s for latency")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=["throughput", "latency"])
    args = parser.parse_args()
    if args.only != "latency":
        if shutil.which("wrk") is None:
            raise SystemExit("bench/forms.py needs wrk: apt-get install wrk")
        throughput(args.database, args.seconds, args.connections, args.workers)
    if args.only != "throughput":
        latency(args.database, args.rate, args.latency_seconds)


if __name__ == "__main__":
    main()
