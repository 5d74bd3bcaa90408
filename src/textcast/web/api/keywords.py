"""`/api/v1/keywords`: the words people text to join a list (VIP), with the texts they answer
and what their sign-ups became. Editors and admins change them; viewers read them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.signups import keywords
from textcast.domain.signups.keywords import (
    MAX_TEXT,
    KeywordChange,
    KeywordDraft,
    KeywordFigures,
    KeywordTexts,
)
from textcast.services import keywords as keyword_services
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, SettingsDep

router = APIRouter(tags=["keywords"], dependencies=[guard(Permission.READ)])

# Longer than the limits the domain says in words, so that its answer names the problem.
Word = Annotated[
    str,
    Field(
        max_length=200,
        description="Matched on the whole message, ignoring case, spaces and punctuation; "
        "stored in capitals (`vip!` is VIP). At most 32 letters and digits. Refused when "
        "STOP, START, HELP, a confirmation reply or another list's keyword uses it.",
    ),
]
Text = Annotated[str, Field(max_length=4 * MAX_TEXT)]
TEXTS_HELP = (
    f"Plain text (no merge fields), at most {MAX_TEXT} characters. Left out: a default "
    "naming BRAND_NAME and the first CONFIRM_KEYWORDS word."
)


class KeywordIn(Input):
    model_config = ConfigDict(extra="forbid")

    word: Word
    list_id: IdIn
    double_opt_in: bool = Field(
        default=True,
        description="True: the number is asked to reply Y before it is subscribed. False: "
        "subscribed at once (a number that once sent STOP is asked all the same).",
    )
    confirmation_text: Text | None = Field(
        default=None, description="Asks to reply Y to confirm. " + TEXTS_HELP
    )
    welcome_text: Text | None = Field(
        default=None,
        description="Sent once subscribed, within quiet hours. Null or empty: none. " + TEXTS_HELP,
    )
    already_subscribed_text: Text | None = Field(
        default=None,
        description="The answer to a subscribed member who texts the keyword, at most once "
        "per REPLY_PERIOD_HOURS. " + TEXTS_HELP,
    )


class KeywordPatch(Input):
    model_config = ConfigDict(extra="forbid")

    word: Word | None = None
    list_id: IdIn | None = None
    double_opt_in: bool | None = None
    confirmation_text: Text | None = None
    welcome_text: Text | None = Field(default=None, description="Null or empty: none.")
    already_subscribed_text: Text | None = None


class KeywordOut(BaseModel):
    id: int
    word: str
    list_id: int
    list_name: str
    double_opt_in: bool
    confirmation_text: str
    welcome_text: str | None
    already_subscribed_text: str
    created_at: datetime
    signups: int = Field(description="Sign-ups the keyword started, whatever became of them.")
    confirmed: int
    pending: int = Field(description="Waiting for the person's Y.")
    expired: int = Field(description="Not confirmed within CONFIRMATION_HOURS.")

    @classmethod
    def of(cls, figures: KeywordFigures) -> KeywordOut:
        k = figures.keyword
        return cls(
            id=k.id,
            word=k.word,
            list_id=k.list_id,
            list_name=figures.list_name,
            double_opt_in=k.double_opt_in,
            confirmation_text=k.confirmation_text,
            welcome_text=k.welcome_text,
            already_subscribed_text=k.already_subscribed_text,
            created_at=k.created_at,
            signups=figures.signups,
            confirmed=figures.confirmed,
            pending=figures.pending,
            expired=figures.expired,
        )


@router.get("/api/v1/keywords")
def list_keywords(session: ReadSession) -> list[KeywordOut]:
    """Every keyword by word, with its list and what its sign-ups became."""
    return [KeywordOut.of(f) for f in keywords.list_keywords(session)]


@router.post("/api/v1/keywords", status_code=status.HTTP_201_CREATED)
def add_keyword(
    payload: KeywordIn, database: DatabaseDep, settings: SettingsDep, principal: Writer
) -> KeywordOut:
    welcome = payload.welcome_text
    if "welcome_text" in payload.model_fields_set and welcome is None:
        welcome = ""  # asked for none, not for the default
    draft = KeywordDraft(
        payload.word,
        payload.list_id,
        payload.double_opt_in,
        KeywordTexts(payload.confirmation_text, welcome, payload.already_subscribed_text),
    )
    added = keyword_services.add_keyword(database, Actor.of(principal), settings, draft)
    with database.read() as session:
        return KeywordOut.of(keywords.keyword_figures(session, added.id))


@router.get("/api/v1/keywords/{keyword_id}")
def get_keyword(keyword_id: Id, session: ReadSession) -> KeywordOut:
    return KeywordOut.of(keywords.keyword_figures(session, keyword_id))


@router.patch("/api/v1/keywords/{keyword_id}")
def update_keyword(
    keyword_id: Id,
    payload: KeywordPatch,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Writer,
) -> KeywordOut:
    """Only the fields given change, checked as when adding. Sign-ups already started keep
    the texts they had."""
    welcome = payload.welcome_text
    if "welcome_text" in payload.model_fields_set and welcome is None:
        welcome = ""
    change = KeywordChange(
        word=payload.word,
        list_id=payload.list_id,
        double_opt_in=payload.double_opt_in,
        confirmation_text=payload.confirmation_text,
        welcome_text=welcome,
        already_subscribed_text=payload.already_subscribed_text,
    )
    keyword_services.update_keyword(database, Actor.of(principal), settings, keyword_id, change)
    with database.read() as session:
        return KeywordOut.of(keywords.keyword_figures(session, keyword_id))


@router.delete("/api/v1/keywords/{keyword_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_keyword(keyword_id: Id, database: DatabaseDep, principal: Writer) -> None:
    """The word stops adding people to the list; its sign-ups stay, as evidence."""
    keyword_services.remove_keyword(database, Actor.of(principal), keyword_id)
