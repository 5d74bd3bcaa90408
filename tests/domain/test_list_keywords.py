"""A list's keywords: matched like STOP (whole message; case, spaces and punctuation
ignored), stored normalised, refused when a setting or another list has the word, and
counted by what their sign-ups became."""

from __future__ import annotations

import pytest
from tests.factories import make_keyword

from textcast.db import Database
from textcast.domain.audience import lists
from textcast.domain.errors import InvalidInput, NotFound
from textcast.domain.inbox.keywords import normalise as inbox_normalise
from textcast.domain.signups import keywords
from textcast.domain.signups.keywords import KeywordChange, KeywordDraft, KeywordSettings
from textcast.models import Signup, SignupChannel, SignupStatus, utcnow

SETTINGS = KeywordSettings.of(
    opt_out=["STOP", "OPT-OUT"],
    opt_in=["START", "YES"],
    help_=["HELP"],
    confirm=[" Y", "YES"],
    brand="Shop",
)


def _list(database: Database, name: str = "Newsletter") -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def test_the_inbox_still_finds_normalise_where_it_was() -> None:
    assert inbox_normalise(" Opt-out! ") == "OPTOUT"


@pytest.mark.parametrize("body", ["VIP", "vip", " v.i.p! ", "V I P", "Vip."])
def test_a_whole_message_matches_its_keyword_whatever_the_spelling(
    database: Database, body: str
) -> None:
    keyword = make_keyword(database, _list(database), "VIP")
    with database.read() as session:
        found = keywords.find_keyword(session, body)
        assert found is not None and found.id == keyword.id


@pytest.mark.parametrize("body", ["VIP please", "VIPS", "", "!!!", "V" * 500])
def test_a_message_that_only_contains_the_keyword_does_not_match(
    database: Database, body: str
) -> None:
    make_keyword(database, _list(database), "VIP")
    with database.read() as session:
        assert keywords.find_keyword(session, body) is None


def test_words_are_stored_normalised_and_defaults_name_brand_and_reply_word(
    database: Database,
) -> None:
    list_id = _list(database)
    with database.write() as session:
        added = keywords.add_keyword(session, SETTINGS, KeywordDraft("sale-24!", list_id))
        assert added.word == "SALE24"
        assert added.confirmation_text.startswith("Shop: reply Y to ")
        assert added.welcome_text is not None and "Shop" in added.welcome_text
        assert "STOP" in added.already_subscribed_text


def test_every_problem_of_a_keyword_is_named_at_once(database: Database) -> None:
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        keywords.add_keyword(
            session,
            SETTINGS,
            KeywordDraft(
                "Opt out",
                999,
                texts=keywords.KeywordTexts(already_subscribed_text="{{ first_name }}"),
            ),
        )
    fields = {p.field: p.message for p in refused.value.problems}
    assert fields == {
        "word": "OPTOUT is already an opt-out keyword (OPT_OUT_KEYWORDS): it always unsubscribes",
        "list_id": "there is no list 999",
        "already_subscribed_text": fields["already_subscribed_text"],
    }
    assert "plain text" in fields["already_subscribed_text"]


def test_a_change_reports_only_what_changed(database: Database) -> None:
    list_id = _list(database)
    keyword = make_keyword(database, list_id, "VIP")
    with database.write() as session:
        changed = keywords.update_keyword(
            session, SETTINGS, keyword.id, KeywordChange(word="vip", welcome_text="")
        )
    assert changed == {"welcome_text": None}
    with database.write() as session, pytest.raises(NotFound):
        keywords.update_keyword(session, SETTINGS, 999, KeywordChange(word="X"))


def test_figures_count_each_keywords_sign_ups_by_what_they_became(database: Database) -> None:
    list_id = _list(database)
    vip = make_keyword(database, list_id, "VIP")
    make_keyword(database, list_id, "JOIN")
    states = [SignupStatus.CONFIRMED] * 2 + [
        SignupStatus.PENDING,
        SignupStatus.EXPIRED,
        SignupStatus.CANCELLED,
    ]
    with database.write() as session:
        for state in states:
            session.add(
                Signup(
                    channel=SignupChannel.KEYWORD,
                    status=state,
                    phone="+12015550100",
                    list_id=list_id,
                    keyword_id=vip.id,
                    double_opt_in=True,
                    submitted_at=utcnow(),
                )
            )
    with database.read() as session:
        figures = keywords.list_keywords(session)
        assert [
            (f.keyword.word, f.signups, f.confirmed, f.pending, f.expired) for f in figures
        ] == [
            ("JOIN", 0, 0, 0, 0),
            ("VIP", 5, 2, 1, 1),
        ]
        assert keywords.keyword_figures(session, vip.id).list_name == "Newsletter"
