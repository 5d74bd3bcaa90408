"""Dispatcher throughput: 100,000 recipients, no rate limit, the simulator on loopback.

Prints recipients per second from launch to the last batch accepted, and the worker's peak RSS.
Targets on a 2-core machine: >= 20,000/s on SQLite, >= 50,000/s on PostgreSQL, RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import time

import psutil
from sqlalchemy import func, select

from bench.common import drop_database, free_port, fresh_database, numbers, start, wait_for_http
from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Batch, Campaign, CampaignStatus

ALWAYS_OPEN = '{"US": "00:00-24:00", "US-FL": "00:00-24:00", "US-OK": "00:00-24:00"}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()

    url = fresh_database(args.database)
    database = Database(url)
    port = free_port()
    simulator = start(["simulator", "--port", str(port)])
    worker = None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_simulator/stats")
        draft = campaigns.CampaignDraft(
            "bench", "Benchmark message, one part.", numbers(args.recipients)
        )
        with database.write() as session:
            campaign_id = campaigns.create_campaign(session, draft, "US").id
        worker = start(
            ["worker", "--log-level", "warning"],
            {
                "DATABASE_URL": url,
                "SINCH_SERVICE_PLAN_ID": "simulated",
                "SINCH_API_TOKEN": "simulated-token",
                "SINCH_BASE_URL": f"http://127.0.0.1:{port}",
                "SEND_RATE": "0",
                "DELIVERY_REPORT": "none",
                "DISPATCHER_POLL_SECONDS": "0.02",
                # Throughput at any hour of the day: the send window is always open here.
                "QUIET_HOURS": "00:00-24:00",
                "QUIET_HOURS_RULES": ALWAYS_OPEN,
            },
        )
        process = psutil.Process(worker.pid)
        time.sleep(1.5)  # the worker is up and idle
        peak = process.memory_info().rss
        started = time.time()
        with database.write() as session:
            campaigns.launch_campaign(session, campaign_id)
        while True:
            peak = max(peak, process.memory_info().rss)
            with database.read() as session:
                status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
            if status == CampaignStatus.COMPLETED:
                break
            if worker.poll() is not None:
                raise SystemExit("the worker died")
            # The figure comes from the batches' own acceptance times: looking less often
            # only leaves the two cores to what is measured.
            time.sleep(0.2)
        with database.read() as session:
            last = session.scalar(select(func.max(Batch.accepted_at)))
            batches = session.scalar(select(func.count()).select_from(Batch))
        assert last is not None
        seconds = last.timestamp() - started
        print(
            f"dispatch[{args.database}]: {args.recipients / seconds:,.0f} recipients/s "
            f"({args.recipients:,} in {seconds:.2f}s, {batches} batches), "
            f"worker peak RSS {peak / 2**20:.0f} MB"
        )
    finally:
        for child in (worker, simulator):
            if child is not None:
                child.terminate()
                child.wait(10)
        database.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
