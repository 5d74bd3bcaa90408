"""Shared set-up for the benchmarks: fresh databases, free ports, child processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from textcast.db import Database
from textcast.migrate import upgrade

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
