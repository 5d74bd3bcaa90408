"""Lists' keywords' use cases: add, change and remove a keyword, each in one transaction with
its audit entry (`keyword.add`, `keyword.update`, `keyword.remove`).

`settings` are the settings in effect: the words STOP, START, HELP and the confirmation
replies use are refused as keywords, and the default texts name the brand and the reply word.
"""

from __future__ import annotations

from textcast.config import Settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.signups import keywords
from textcast.domain.signups.keywords import KeywordChange, KeywordDraft, KeywordSettings
from textcast.models import ListKeyword


def keyword_settings(settings: Settings) -> KeywordSettings:
    return KeywordSettings.of(
        opt_out=settings.opt_out_keywords.split(","),
        opt_in=settings.opt_in_keywords.split(","),
        help_=settings.help_keywords.split(","),
        confirm=settings.confirm_keywords.split(","),
        brand=settings.brand_name,
    )


def add_keyword(
    database: Database, actor: Actor, settings: Settings, draft: KeywordDraft
) -> ListKeyword:
    with database.write() as session:
        keyword = keywords.add_keyword(session, keyword_settings(settings), draft)
        audit.record(
            session,
            actor,
            "keyword.add",
            f"keyword:{keyword.id}",
            word=keyword.word,
            list_id=keyword.list_id,
            double_opt_in=keyword.double_opt_in,
        )
    return keyword


def update_keyword(
    database: Database, actor: Actor, settings: Settings, keyword_id: int, change: KeywordChange
) -> ListKeyword:
    """Audited when something changed, with the new values."""
    with database.write() as session:
        changed = keywords.update_keyword(session, keyword_settings(settings), keyword_id, change)
        if changed:
            audit.record(session, actor, "keyword.update", f"keyword:{keyword_id}", **changed)
        return keywords.get_keyword(session, keyword_id)


def remove_keyword(database: Database, actor: Actor, keyword_id: int) -> ListKeyword:
    """Its sign-ups stay, as evidence."""
    with database.write() as session:
        removed = keywords.remove_keyword(session, keyword_id)
        audit.record(session, actor, "keyword.remove", f"keyword:{keyword_id}", word=removed.word)
    return removed


def remove_keyword_by_word(database: Database, actor: Actor, word: str) -> ListKeyword:
    """The keyword spelled `word` in any case, spacing or punctuation (the command line's)."""
    with database.read() as session:
        keyword_id = keywords.keyword_by_word(session, word).id
    return remove_keyword(database, actor, keyword_id)
