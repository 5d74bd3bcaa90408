"""Shared set-up for the benchmarks: fresh databases, free ports, child processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import insert

from textcast.db import Database
from textcast.migrate import upgrade
from textcast.models import Contact, ContactList, ListMember

BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("TEXTCAST_BENCH_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fresh_database(kind: str) -> str:
    """A new, migrated database URL: a SQLite file, or a PostgreSQL database made for the run."""
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='textcast-bench-')}/bench.db"
    else:
        name = f"textcast_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = (
            PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + "/"
            + name
        )
    database = Database(url)
    upgrade(database)
    database.dispose()
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "textcast"), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def numbers(count: int) -> list[str]:
    return [f"+1201{555 + (i // 10_000):03d}{i % 10_000:04d}" for i in range(count)]


def lua_thread_offsets(stride: int) -> str:
    """The start of a wrk script: each thread numbers its requests from its own `offset`
    (thread n from n * stride), counting in `counter`, for its `request()` to use."""
    return f"""local counter = 0
local offset = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads * {stride})
  threads = threads + 1
end
function init(args)
  offset = tonumber(wrk.thread:get("offset")) or 0
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests: int
    """Answered before the deadline."""
    failed: int
    """Answered with a status other than 2xx or 3xx."""
    p99_ms: float


def run_wrk(script: str, url: str, connections: int, seconds: int) -> WrkRun:
    """wrk with a Lua `script` (its text) against `url`: two threads, latency percentiles."""
    path = Path(tempfile.mkdtemp(prefix="textcast-wrk-")) / "script.lua"
    path.write_text(script)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(path), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    if p99 is None:
        raise RuntimeError(f"wrk said no 99th percentile:\n{output}")
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return WrkRun(requests, int(errors.group(1)) if errors else 0, float(p99.group(1)) * unit)


def seed_list(database: Database, count: int, now: datetime) -> int:
    """A list of `count` subscribed US contacts, a tenth without a first name and a third of
    them "gold"; its id."""
    with database.write() as session:
        audience = ContactList(name="bench", created_at=now)
        session.add(audience)
        session.flush()
        phones = numbers(count)
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
        return audience.id
