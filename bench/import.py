"""CSV contact import: 1,000,000 rows through `textcast contacts import` on a fresh SQLite file.

The file mixes national (FR, the default region) and international spellings for US, FR, GB,
DE, ES and BR numbers, names (some quoted, a few multi-line notes), two attribute columns, 2%
invalid numbers and 1% duplicates; one number in 500 has opted out beforehand. Prints rows per
second, elapsed time and the peak RSS of the import process plus its workers, and checks that
the rejection report lists exactly the invalid rows and that the counts add up.
Target: <= 60 s and < 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
import psutil
from sqlalchemy import select

from bench.common import BIN, drop_database, fresh_database
from textcast.db import Database
from textcast.domain.audience import suppressions
from textcast.models import ImportJob, ImportRejection

# (country code, national-number prefix, digits after it): every number in each range is a
# valid mobile number (checked by `check_ranges`).
RANGES = {
    "FR": ("33", "612", 6),
    "US": ("1", "2015", 6),
    "GB": ("44", "7400", 6),
    "DE": ("49", "1512", 7),
    "ES": ("34", "612", 6),
    "BR": ("55", "1191", 7),
}
INVALID = [
    "",
    "n/a",
    "12345",
    "01 23 45 67 89",  # a French landline
    "+1 800 555 0100",  # toll-free
    "+999 1234 5678",  # no such country code
    "+33 6 12 34 56 78 90 12",
    "06-CALL-ME",
]
FIRST = ["Jean", "Marie", "Ana", "Lukas", "Olivia", "João", "Zoë", "Nguyễn", "Amélie", "Noah"]
LAST = ["Dupont", "Smith", "García", "Müller", "Silva", 'O"Brien', "Dupont, Jr.", "Le Gall"]
SECRET = "bench-secret"
CITIES = ["Paris", "Saint-Denis, Réunion", "München", "São Paulo", "New York", "Sevilla"]


@dataclass
class Expected:
    rows: int = 0
    unique: int = 0
    duplicates: int = 0
    invalid_lines: list[int] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    """E.164 numbers that opted out before the import (one in 500)."""


def spell(country: str, national: str, rng: random.Random) -> str:
    """One of several ways people write the number; national only for the default region."""
    code = RANGES[country][0]
    grouped = " ".join(national[i : i + 2] for i in range(0, len(national), 2))
    choices = [f"+{code}{national}", f"+{code} {grouped}", f"00{code} {national}"]
    if country == "FR":
        choices += [f"0{national}", f"0{grouped}", f"0{national[:1]}.{national[1:]}"]
    if country == "US":
        choices += [f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}"]
    if country == "BR":
        choices += [f"+55 ({national[:2]}) {national[2:7]}-{national[7:]}"]
    return rng.choice(choices)


def generate(path: Path, rows: int, seed: int = 2026) -> Expected:
    rng = random.Random(seed)
    expected = Expected(rows=rows)
    recent: deque[tuple[str, str]] = deque(maxlen=5000)
    countries = list(RANGES)
    counters = dict.fromkeys(countries, 0)
    line = 2  # the header is line 1
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["first_name", "last_name", "mobile", "city", "loyalty_points", "notes"])
        for _ in range(rows):
            roll = rng.random()
            if roll < 0.02:
                phone = rng.choice(INVALID)
                expected.invalid_lines.append(line)
            elif roll < 0.03 and recent:
                country, national = rng.choice(recent)
                phone = spell(country, national, rng)
                expected.duplicates += 1
            else:
                country = rng.choice(countries)
                code, prefix, digits = RANGES[country]
                national = f"{prefix}{counters[country]:0{digits}d}"
                counters[country] += 1
                recent.append((country, national))
                phone = spell(country, national, rng)
                expected.unique += 1
                if expected.unique % 500 == 0:
                    expected.suppressed.append(f"+{code}{national}")
            notes = "called twice\nprefers SMS" if rng.random() < 0.0005 else ""
            writer.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    phone,
                    rng.choice(CITIES),
                    rng.randrange(10_000),
                    notes,
                ]
            )
            line += 1 + notes.count("\n")
    return expected


def check_ranges(samples: int = 300) -> None:
    rng = random.Random(1)
    for country, (code, prefix, digits) in RANGES.items():
        for _ in range(samples):
            number = phonenumbers.parse(f"+{code}{prefix}{rng.randrange(10**digits):0{digits}d}")
            if not phonenumbers.is_valid_number(number):
                raise SystemExit(f"bench/import.py: the {country} range has invalid numbers")


def tree_rss(process: psutil.Process) -> int:
    try:
        members = [process, *process.children(recursive=True)]
        return sum(member.memory_info().rss for member in members)
    except psutil.NoSuchProcess:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    check_ranges()
    folder = Path(tempfile.mkdtemp(prefix="textcast-bench-import-"))
    url = fresh_database(args.database)
    try:
        source = folder / "contacts.csv"
        expected = generate(source, args.rows)
        line = run(url, source, expected, args.database)
    finally:
        drop_database(url)
        if url.startswith("sqlite"):
            # A million contacts take ~400 MB: leave no copy behind.
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(line)


def run(url: str, source: Path, expected: Expected, engine: str) -> str:
    """Import `source` with the CLI, as a user would; the result line."""
    database = Database(url)
    with database.write() as session:
        for e164 in expected.suppressed:
            suppressions.suppress(session, SECRET.encode(), e164, "STOP")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "DEFAULT_REGION": "FR"}
    peak = 0
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            str(BIN / "textcast"),
            "contacts",
            "import",
            str(source),
            "--list",
            "bench",
            "--consent-confirmed",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    process = psutil.Process(child.pid)
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.is_set():
            peak = max(peak, tree_rss(process))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = child.communicate()
    elapsed = time.perf_counter() - started
    finished.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"the import failed: {errors.decode(errors='replace')[-2000:]}")
    with database.read() as session:
        job = session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
        assert job is not None
        lines = list(
            session.scalars(
                select(ImportRejection.line)
                .where(ImportRejection.import_id == job.id)
                .order_by(ImportRejection.line)
            )
        )
    database.dispose()
    report = "error report complete"
    if lines != expected.invalid_lines:
        missing = sorted(set(expected.invalid_lines) - set(lines))
        extra = sorted(set(lines) - set(expected.invalid_lines))
        report = f"error report MISMATCH: {len(missing)} missing (e.g. {missing[:3]}), "
        report += f"{len(extra)} unexpected (e.g. {extra[:3]})"
    counts = (job.rows, job.created, job.duplicates, job.kept_opted_out)
    opted_out = len(expected.suppressed)
    wanted = (expected.rows, expected.unique - opted_out, expected.duplicates, opted_out)
    if counts != wanted:
        report += f"; counts MISMATCH: rows, created, duplicates, kept opted out {counts}, "
        report += f"expected {wanted}"
    return (
        f"import[{engine}]: {job.rows / elapsed:,.0f} rows/s ({job.rows:,} rows in "
        f"{elapsed:.1f}s: {job.created:,} created, {job.duplicates:,} duplicates, "
        f"{job.rejected:,} rejected, {job.kept_opted_out:,} kept opted out), "
        f"peak RSS {peak / 2**20:.0f} MB (CLI + workers); {report}"
    )


if __name__ == "__main__":
    main()
