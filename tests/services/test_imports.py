"""Imports' and short links' use cases: starting an import commits a pending job with its audit
entry (a refused one writes neither), running it fills the contacts; a click is counted and a
throttled address noted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.factories import make_campaign, numbers

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.content import links as short_links
from textcast.domain.errors import InvalidInput
from textcast.domain.imports.jobs import Progress
from textcast.models import Contact, ContactList, ImportJob, ImportStatus, Link, LinkVisit
from textcast.services import imports, links

SECRET = b"test-secret"
EDITOR = Actor("ed@example.com", None, "192.0.2.1")


def trail(database: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with database.read() as session:
        entries = audit.entries(session, limit=1000)
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(entries)]


def count(database: Database, table: type[object]) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def csv_file(tmp_path: Path, phones: list[str]) -> Path:
    path = tmp_path / "spring.csv"
    path.write_text("phone,first_name\n" + "".join(f"{p},Ana\n" for p in phones))
    return path


def test_an_import_is_started_with_its_entry_and_runs_to_its_end(
    database: Database, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, numbers(3))
    job = imports.start_import(
        database,
        EDITOR,
        path=path,
        filename=path.name,
        default_region="US",
        consent_confirmed=True,
        list_name="Spring",
    )
    with database.read() as session:
        pending = session.get(ImportJob, job.id)
        assert pending is not None
        assert pending.status == ImportStatus.PENDING
    assert trail(database) == [
        (EDITOR.label, "import.create", f"import:{job.id}", {"filename": "spring.csv"})
    ]
    heard: list[Progress] = []
    done = imports.run_import(database, job.id, path, SECRET, on_progress=heard.append)
    assert (done.status, done.created, done.rejected) == (ImportStatus.COMPLETED, 3, 0)
    assert heard
    assert count(database, Contact) == 3


@pytest.mark.parametrize(("region", "list_name"), [("XX", None), ("US", " "), ("US", "x" * 201)])
def test_a_refused_import_writes_neither_a_job_nor_an_entry(
    database: Database, tmp_path: Path, region: str, list_name: str | None
) -> None:
    path = csv_file(tmp_path, numbers(1))
    with pytest.raises(InvalidInput):
        imports.start_import(
            database,
            audit.CLI,
            path=path,
            filename=path.name,
            default_region=region,
            consent_confirmed=True,
            list_name=list_name,
        )
    assert count(database, ImportJob) == 0
    assert count(database, ContactList) == 0
    assert trail(database) == []


def test_a_click_is_counted_and_a_throttled_address_noted(database: Database) -> None:
    campaign = make_campaign(database)
    with database.write() as session:
        session.add(
            Link(code="AbCdEfGh", campaign_id=campaign.id, url="https://shop.example/spring")
        )
    url = links.follow_link(database, SECRET, "AbCdEfGh", address="192.0.2.5", user_agent="phone")
    missing = links.follow_link(
        database, SECRET, "ZZZZZZZZ", address="192.0.2.5", user_agent="phone"
    )
    assert (url, missing) == ("https://shop.example/spring", None)
    with database.read() as session:
        visitor = session.scalars(select(LinkVisit.visitor)).one()
    assert visitor == short_links.visitor_of(SECRET, "192.0.2.5", "phone")
    with database.read() as session:
        link = session.get(Link, "AbCdEfGh")
        assert link is not None
        assert (link.clicks, link.unique_clicks) == (1, 1)
    assert trail(database) == []
    links.record_throttled(database, "192.0.2.5")
    with database.read() as session:
        (entry,) = audit.entries(session)
    assert (entry.actor, entry.action, entry.target, entry.ip) == (
        "anonymous",
        "link.throttled",
        None,
        "192.0.2.5",
    )
