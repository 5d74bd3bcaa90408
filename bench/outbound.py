"""Outbound webhooks: events recorded at a steady rate, posted by `textcast worker` to a
local endpoint.

A receiver (uvicorn, in a process of its own, answering 204) notes when it answered each
event; this process records `--rate` events a second for `--seconds`, each transaction a
hundredth of a second's worth, and notes when each committed. Prints events delivered per
second (from the first commit to the last 2xx) and the p99 time from an event's commit to the
receiver's 2xx. Targets on a 2-core machine: >= 2,000 events/s, p99 <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select

from bench.common import drop_database, free_port, fresh_database, start, wait_for_http
from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks import signatures
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    WebhookDelivery,
    WebhookSubscription,
)

TICK_SECONDS = 0.01
DRAIN_SECONDS = 60.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def receiver_app(out: Path) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An endpoint answering 204 to every POST, noting each event's id and answer time in
    `out` when it shuts down."""
    answered: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    out.write_text("\n".join(answered))
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        webhook_id = next((v for k, v in scope["headers"] if k == b"webhook-id"), b"-")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        answered.append(f"{webhook_id.decode()} {time.time():.6f}")

    return app


def serve_receiver(port: int, out: Path) -> None:
    import uvicorn

    uvicorn.run(
        receiver_app(out),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


def subscribe(url: str, endpoint: str) -> None:
    database = Database(url)
    try:
        with database.write() as session:
            session.add(
                WebhookSubscription(url=endpoint, event_types=["*"], secret=signatures.new_secret())
            )
    finally:
        database.dispose()


def produce(url: str, rate: int, seconds: float) -> dict[int, float]:
    """Record `rate` events a second (numbered in their `data`) for `seconds`; each event's
    commit time by number."""
    database = Database(url)
    committed: dict[int, float] = {}
    per_tick = max(round(rate * TICK_SECONDS), 1)
    started = time.monotonic()
    n = 0
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            # Catch up after a slow commit: the rate is offered, whatever the pace of each.
            due = round(elapsed / TICK_SECONDS) * per_tick + per_tick
            if n < due:
                items = [{"n": i} for i in range(n, due)]
                with database.write() as session:
                    stream.record_many(session, EventType.MESSAGE_DELIVERED, items)
                at = time.time()
                committed.update((i, at) for i in range(n, due))
                n = due
            time.sleep(max(started + (n // per_tick) * TICK_SECONDS - time.monotonic(), 0))
    finally:
        database.dispose()
    return committed


def pending(url: str) -> int:
    database = Database(url)
    try:
        with database.read() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == DeliveryStatus.PENDING)
                )
                or 0
            )
    finally:
        database.dispose()


def numbers_by_id(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.read() as session:
            rows = session.execute(select(OutboundEvent.public_id, OutboundEvent.body)).all()
    finally:
        database.dispose()
    return {public_id: json.loads(body)["data"]["n"] for public_id, body in rows}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=int, default=2_500, help="events recorded per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--receive", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        serve_receiver(int(args.receive[0]), Path(args.receive[1]))
        return
    url = fresh_database(args.database)
    port = free_port()
    out = Path(tempfile.mkdtemp(prefix="textcast-outbound-")) / "answered.txt"
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.outbound", "--receive", str(port), str(out)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    worker = None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/")
        subscribe(url, f"http://127.0.0.1:{port}/hooks")
        worker = start(
            ["worker", "--log-level", "warning"],
            {
                "DATABASE_URL": url,
                "WEBHOOK_ALLOW_PRIVATE": "true",
                "WEBHOOK_CONCURRENCY": str(args.concurrency),
            },
        )
        time.sleep(3)  # the worker's start (migrations checked, engines running)
        started = time.monotonic()
        cpu = {
            name: psutil.Process(p.pid) for name, p in (("worker", worker), ("receiver", receiver))
        }
        before = {name: sum(p.cpu_times()[:2]) for name, p in cpu.items()}
        committed = produce(url, args.rate, args.seconds)
        deadline = time.monotonic() + DRAIN_SECONDS
        while pending(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = pending(url)
        wall = time.monotonic() - started
        spent = {name: sum(p.cpu_times()[:2]) - before[name] for name, p in cpu.items()}
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)
    numbers = numbers_by_id(url)
    drop_database(url)
    answered: dict[int, float] = {}
    for line in out.read_text().splitlines():
        webhook_id, at = line.split()
        if webhook_id not in numbers:
            continue  # wait_for_http's GET
        # The first 2xx of an event (a redelivery would come later).
        answered.setdefault(numbers[webhook_id], float(at))
    latencies = [answered[n] - committed[n] for n in answered]
    span = max(answered.values()) - min(committed.values())
    print(
        f"outbound[{args.database}, {args.rate:,}/s offered for {args.seconds:g} s, "
        f"concurrency {args.concurrency}]: {len(answered) / span:,.0f} events delivered/s, "
        f"p99 commit-to-2xx {percentile(latencies, 0.99) * 1000:,.0f} ms "
        f"(p50 {percentile(latencies, 0.5) * 1000:,.0f} ms; {len(answered):,} of "
        f"{len(committed):,} delivered, {left:,} pending; worker CPU "
        f"{spent['worker'] / len(answered) * 1000:.2f} ms/event, "
        f"{spent['worker'] / wall:.2f} cores; load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
