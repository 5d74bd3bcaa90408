"""A list's keywords: a word people text (VIP) to join the list, with the texts it answers.

A word is stored as `content.words.normalise` leaves it (letters and digits, upper case), and
an inbound message matches it when the whole message does, like STOP, START and HELP. A word
that those settings (or CONFIRM_KEYWORDS) already use, or that another keyword has, is refused
here, naming the clash: a message of it must mean one thing only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from textcast.domain.audience.lists import get_list
from textcast.domain.content.words import normalise
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.models import (
    Contact,
    ContactList,
    ContactStatus,
    ListKeyword,
    ListMember,
    Signup,
    SignupStatus,
)

MAX_WORD = 32
MAX_TEXT = 918
"""Six parts of GSM-7 text: longer answers cost more than a keyword is worth."""
TEXTS = ("confirmation_text", "welcome_text", "already_subscribed_text")


@dataclass(frozen=True, slots=True)
class KeywordSettings:
    """What configuring a keyword needs from the settings in effect: the words they reserve
    (a normalised word to the setting that has it), and the defaults' brand and reply word."""

    reserved: dict[str, str]
    brand: str
    confirm_word: str

    @classmethod
    def of(
        cls,
        *,
        opt_out: Iterable[str],
        opt_in: Iterable[str],
        help_: Iterable[str],
        confirm: Sequence[str],
        brand: str,
    ) -> KeywordSettings:
        reserved: dict[str, str] = {}
        for setting, words in (
            ("OPT_OUT_KEYWORDS", opt_out),
            ("CONFIRM_KEYWORDS", confirm),
            ("OPT_IN_KEYWORDS", opt_in),
            ("HELP_KEYWORDS", help_),
        ):
            for word in words:
                if key := normalise(word):
                    reserved.setdefault(key, setting)
        first = next((w.strip() for w in confirm if normalise(w)), "Y")
        return cls(reserved, brand, first)


SETTING_MEANINGS = {
    "OPT_OUT_KEYWORDS": "an opt-out keyword (OPT_OUT_KEYWORDS): it always unsubscribes",
    "CONFIRM_KEYWORDS": "a confirmation reply (CONFIRM_KEYWORDS): it confirms a sign-up",
    "OPT_IN_KEYWORDS": "an opt-in keyword (OPT_IN_KEYWORDS): it subscribes again",
    "HELP_KEYWORDS": "a help keyword (HELP_KEYWORDS): it answers with the help text",
}


@dataclass(frozen=True, slots=True)
class KeywordTexts:
    """None: the default text. An empty welcome text: no welcome text."""

    confirmation_text: str | None = None
    welcome_text: str | None = None
    already_subscribed_text: str | None = None


@dataclass(frozen=True, slots=True)
class KeywordDraft:
    word: str
    list_id: int
    double_opt_in: bool = True
    texts: KeywordTexts = field(default_factory=KeywordTexts)


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """Only what is given changes (None: as it is)."""

    word: str | None = None
    list_id: int | None = None
    double_opt_in: bool | None = None
    confirmation_text: str | None = None
    welcome_text: str | None = None
    """An empty one removes the welcome text."""
    already_subscribed_text: str | None = None


@dataclass(frozen=True, slots=True)
class KeywordFigures:
    keyword: ListKeyword
    list_name: str
    signups: int
    confirmed: int
    pending: int
    expired: int


def default_texts(settings: KeywordSettings) -> dict[str, str]:
    brand, word = settings.brand, settings.confirm_word
    return {
        "confirmation_text": (
            f"{brand}: reply {word} to get our recurring automated marketing texts. Consent is "
            "not a condition of purchase. Msg frequency varies. Msg & data rates may apply. "
            "Reply HELP for help, STOP to cancel."
        ),
        "welcome_text": (
            f"{brand}: welcome! You are subscribed to our texts. Msg & data rates may apply. "
            "Reply HELP for help, STOP to cancel."
        ),
        "already_subscribed_text": (
            f"{brand}: you are already subscribed to our texts. Reply HELP for help, STOP to "
            "cancel."
        ),
    }


def add_keyword(session: Session, settings: KeywordSettings, draft: KeywordDraft) -> ListKeyword:
    defaults = default_texts(settings)
    given = draft.texts
    word, problems = _checked_word(session, settings, draft.word)
    problems += _list_problem(session, draft.list_id)
    texts: dict[str, str | None] = {}
    for name in TEXTS:
        value, problem = _checked_text(
            name, getattr(given, name), defaults[name], double_opt_in=draft.double_opt_in
        )
        texts[name] = value
        problems += problem
    if problems:
        raise InvalidInput(problems)
    keyword = ListKeyword(
        word=word,
        list_id=draft.list_id,
        double_opt_in=draft.double_opt_in,
        confirmation_text=texts["confirmation_text"],
        welcome_text=texts["welcome_text"],
        already_subscribed_text=texts["already_subscribed_text"],
    )
    session.add(keyword)
    session.flush()
    return keyword


def update_keyword(
    session: Session, settings: KeywordSettings, keyword_id: int, change: KeywordChange
) -> dict[str, object]:
    """The keyword changed; returns what changed (name to new value) for the audit entry."""
    keyword = get_keyword(session, keyword_id)
    problems: list[FieldProblem] = []
    wanted: dict[str, object] = {}
    if change.word is not None:
        word, found = _checked_word(session, settings, change.word, keyword.id)
        problems += found
        wanted["word"] = word
    if change.list_id is not None:
        problems += _list_problem(session, change.list_id)
        wanted["list_id"] = change.list_id
    double = keyword.double_opt_in if change.double_opt_in is None else change.double_opt_in
    if change.double_opt_in is not None:
        wanted["double_opt_in"] = change.double_opt_in
    defaults = default_texts(settings)
    for name in TEXTS:
        given = getattr(change, name)
        if given is None:
            continue
        value, found = _checked_text(name, given, defaults[name], double_opt_in=double)
        problems += found
        wanted[name] = value
    if problems:
        raise InvalidInput(problems)
    changed = {k: v for k, v in wanted.items() if getattr(keyword, k) != v}
    for attribute, new in changed.items():
        setattr(keyword, attribute, new)
    session.flush()
    return changed


def remove_keyword(session: Session, keyword_id: int) -> ListKeyword:
    """Gone: its sign-ups stay, as evidence (their consent names the word)."""
    keyword = get_keyword(session, keyword_id)
    session.delete(keyword)
    session.flush()
    return keyword


def get_keyword(session: Session, keyword_id: int) -> ListKeyword:
    found = session.get(ListKeyword, keyword_id)
    if found is None:
        raise NotFound("keyword", keyword_id)
    return found


def keyword_by_word(session: Session, word: str) -> ListKeyword:
    """The keyword spelled `word` in any case, spacing or punctuation."""
    found = find_keyword(session, word)
    if found is None:
        raise NotFound("keyword", word)
    return found


def find_keyword(session: Session, body: str) -> ListKeyword | None:
    """The keyword a whole inbound message matches, if any."""
    word = normalise(body)
    if not word or len(word) > MAX_WORD:
        return None
    return session.scalars(select(ListKeyword).where(ListKeyword.word == word)).first()


def list_keywords(session: Session, keyword_id: int | None = None) -> list[KeywordFigures]:
    """Every keyword (or the one of this id) by word, with its list and what its sign-ups
    became."""
    figures = (
        select(
            Signup.keyword_id,
            func.count().label("signups"),
            *(
                func.sum(case((Signup.status == status, 1), else_=0)).label(status.value)
                for status in (SignupStatus.CONFIRMED, SignupStatus.PENDING, SignupStatus.EXPIRED)
            ),
        )
        .where(
            Signup.keyword_id.is_not(None)
            if keyword_id is None
            else Signup.keyword_id == keyword_id
        )
        .group_by(Signup.keyword_id)
        .subquery()
    )
    query = (
        select(
            ListKeyword,
            ContactList.name,
            func.coalesce(figures.c.signups, 0),
            func.coalesce(figures.c.confirmed, 0),
            func.coalesce(figures.c.pending, 0),
            func.coalesce(figures.c.expired, 0),
        )
        .join(ContactList, ContactList.id == ListKeyword.list_id)
        .outerjoin(figures, figures.c.keyword_id == ListKeyword.id)
        .order_by(ListKeyword.word)
    )
    if keyword_id is not None:
        query = query.where(ListKeyword.id == keyword_id)
    rows = session.execute(query).all()
    return [
        KeywordFigures(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in rows
    ]


def keyword_figures(session: Session, keyword_id: int) -> KeywordFigures:
    found = list_keywords(session, keyword_id)
    if not found:
        raise NotFound("keyword", keyword_id)
    return found[0]


def subscribed_member(session: Session, phone: str, list_id: int) -> bool:
    """Whether the number is a subscribed contact in the list (its keyword only reminds it)."""
    return (
        session.scalar(
            select(Contact.id)
            .join(ListMember, ListMember.contact_id == Contact.id)
            .where(
                Contact.phone == phone,
                Contact.status == ContactStatus.SUBSCRIBED,
                ListMember.list_id == list_id,
            )
            .limit(1)
        )
        is not None
    )


def _checked_word(
    session: Session, settings: KeywordSettings, typed: str, own_id: int | None = None
) -> tuple[str, list[FieldProblem]]:
    word = normalise(typed)
    shown = typed.strip()[:40]
    if not word:
        return word, [
            FieldProblem(
                "word",
                "has no letters or digits (spaces and punctuation are left out): use a word "
                "such as VIP",
            )
        ]
    if len(word) > MAX_WORD:
        return word, [
            FieldProblem("word", f"must be at most {MAX_WORD} letters and digits, not {len(word)}")
        ]
    setting = settings.reserved.get(word)
    if setting is not None:
        meaning = SETTING_MEANINGS[setting]
        return word, [FieldProblem("word", f"{word} is already {meaning}", shown)]
    other = session.execute(
        select(ListKeyword.id, ContactList.name)
        .join(ContactList, ContactList.id == ListKeyword.list_id)
        .where(ListKeyword.word == word)
    ).first()
    if other is not None and other[0] != own_id:
        return word, [
            FieldProblem("word", f"{word} already adds people to the list '{other[1]}'", shown)
        ]
    return word, []


def _list_problem(session: Session, list_id: int) -> list[FieldProblem]:
    try:
        get_list(session, list_id)
    except NotFound:
        return [FieldProblem("list_id", f"there is no list {list_id}")]
    return []


def _checked_text(
    name: str, given: str | None, default: str, *, double_opt_in: bool
) -> tuple[str | None, list[FieldProblem]]:
    if given is None:
        return default, []
    text = given.strip()
    if not text:
        if name == "welcome_text":
            return None, []
        if name == "confirmation_text" and not double_opt_in:
            # Still asked of a number that once sent STOP: only its own reply can undo that.
            return default, []
        what = "the text asking to reply" if name == "confirmation_text" else "the reply"
        return None, [FieldProblem(name, f"is required: {what} cannot be empty")]
    if len(text) > MAX_TEXT:
        return None, [FieldProblem(name, f"must be at most {MAX_TEXT} characters, not {len(text)}")]
    if "{{" in text or "}}" in text:
        return None, [
            FieldProblem(
                name,
                "must be plain text: merge fields such as {{ first_name }} cannot be filled in "
                "for someone who is not a contact yet",
            )
        ]
    return text, []
