"""Keywords' use cases: each commits with its audit entry (who, what); a refusal writes
nothing, not even the entry; a change that changes nothing is not audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import lists
from textcast.domain.errors import InvalidInput, NotFound
from textcast.domain.signups.keywords import KeywordChange, KeywordDraft
from textcast.models import ListKeyword
from textcast.services import keywords

EDITOR = Actor("ed@example.com", None, "192.0.2.1")
SETTINGS = load_settings(secret_key="tests", brand_name="Shop", help_keywords="HELP,INFO,VIP")


def _trail(database: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with database.read() as session:
        entries = audit.entries(session, limit=100)
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(entries)]


def test_add_change_and_remove_are_audited_with_what_they_did(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "Newsletter").id
    added = keywords.add_keyword(database, EDITOR, SETTINGS, KeywordDraft("join", list_id))
    same = keywords.update_keyword(
        database, EDITOR, SETTINGS, added.id, KeywordChange(word="J-O-I-N")
    )
    assert same.word == "JOIN"
    keywords.update_keyword(
        database, EDITOR, SETTINGS, added.id, KeywordChange(double_opt_in=False)
    )
    keywords.remove_keyword_by_word(database, EDITOR, "join")
    target = f"keyword:{added.id}"
    assert _trail(database) == [
        (
            "ed@example.com",
            "keyword.add",
            target,
            {"word": "JOIN", "list_id": list_id, "double_opt_in": True},
        ),
        ("ed@example.com", "keyword.update", target, {"double_opt_in": False}),
        ("ed@example.com", "keyword.remove", target, {"word": "JOIN"}),
    ]


def test_a_refused_keyword_writes_nothing(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "Newsletter").id
    with pytest.raises(InvalidInput, match="VIP is already a help keyword"):
        keywords.add_keyword(database, EDITOR, SETTINGS, KeywordDraft("vip", list_id))
    with pytest.raises(NotFound):
        keywords.remove_keyword_by_word(database, EDITOR, "gold")
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(ListKeyword)) == 0
    assert _trail(database) == []
