"""`/api/v1/keywords`: a round trip with the figures, and every clash refused with a message
that names it; editors change, viewers only read; each change is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import authorize, make_keyword

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import AuditEntry, Role, Signup, SignupChannel, SignupStatus, utcnow
from textcast.web.app import create_app

KEYWORDS = "/api/v1/keywords"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, secret_key="tests", brand_name="Shop")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.EDITOR)
        yield client


def _list(database: Database, name: str) -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def _problems(answer: Any) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    return {p["field"]: p["message"] for p in answer.json()["problems"]}


def test_a_keyword_round_trip_with_defaults_figures_change_and_removal(
    client: TestClient, database: Database
) -> None:
    newsletter = _list(database, "Newsletter")
    vip = _list(database, "VIP club")
    answer = client.post(KEYWORDS, json={"word": " vip! ", "list_id": newsletter})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["word"] == "VIP"
    assert created["list_name"] == "Newsletter"
    assert created["double_opt_in"] is True
    assert created["confirmation_text"].startswith("Shop: reply Y to ")
    assert "Shop" in created["welcome_text"]
    assert "already subscribed" in created["already_subscribed_text"]
    assert (created["signups"], created["confirmed"], created["pending"]) == (0, 0, 0)

    with database.write() as session:
        for state in (SignupStatus.CONFIRMED, SignupStatus.PENDING, SignupStatus.EXPIRED):
            session.add(
                Signup(
                    channel=SignupChannel.KEYWORD,
                    status=state,
                    phone="+12015550100",
                    list_id=newsletter,
                    keyword_id=created["id"],
                    double_opt_in=True,
                    submitted_at=utcnow(),
                )
            )
    shown = client.get(f"{KEYWORDS}/{created['id']}").json()
    assert (shown["signups"], shown["confirmed"], shown["pending"], shown["expired"]) == (
        3,
        1,
        1,
        1,
    )

    changed = client.patch(
        f"{KEYWORDS}/{created['id']}",
        json={"list_id": vip, "welcome_text": None, "double_opt_in": False},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["list_name"] == "VIP club"
    assert changed.json()["welcome_text"] is None
    assert changed.json()["double_opt_in"] is False
    assert [k["word"] for k in client.get(KEYWORDS).json()] == ["VIP"]

    assert client.delete(f"{KEYWORDS}/{created['id']}").status_code == 204
    assert client.get(KEYWORDS).json() == []
    assert client.get(f"{KEYWORDS}/{created['id']}").status_code == 404
    with database.read() as session:
        assert len(session.scalars(select(Signup)).all()) == 3  # kept as evidence
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target == f"keyword:{created['id']}")
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["keyword.add", "keyword.update", "keyword.remove"]


def test_a_welcome_text_left_out_is_the_default_and_null_is_none(
    client: TestClient, database: Database
) -> None:
    list_id = _list(database, "Newsletter")
    none = client.post(KEYWORDS, json={"word": "JOIN", "list_id": list_id, "welcome_text": None})
    assert none.json()["welcome_text"] is None
    own = client.post(
        KEYWORDS,
        json={"word": "SALE24", "list_id": list_id, "already_subscribed_text": "Already in!"},
    )
    assert own.json()["already_subscribed_text"] == "Already in!"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"word": "stop"}, "word", "STOP is already an opt-out keyword (OPT_OUT_KEYWORDS)"),
        ({"word": "Opt-Out"}, "word", "OPTOUT is already an opt-out keyword"),
        ({"word": "start"}, "word", "START is already an opt-in keyword (OPT_IN_KEYWORDS)"),
        ({"word": "info"}, "word", "INFO is already a help keyword (HELP_KEYWORDS)"),
        ({"word": "y"}, "word", "Y is already a confirmation reply (CONFIRM_KEYWORDS)"),
        ({"word": "YES"}, "word", "YES is already a confirmation reply"),
        ({"word": "!?"}, "word", "has no letters or digits"),
        ({"word": "A" * 33}, "word", "at most 32 letters and digits, not 33"),
        ({"word": "VIP", "list_id": 999}, "list_id", "there is no list 999"),
        ({"word": "VIP", "confirmation_text": "Hi {{ first_name }}"}, "confirmation_text", "plain"),
        ({"word": "VIP", "welcome_text": "x" * 919}, "welcome_text", "at most 918 characters"),
        ({"word": "VIP", "confirmation_text": "  "}, "confirmation_text", "is required"),
        ({"word": "VIP", "already_subscribed_text": ""}, "already_subscribed_text", "required"),
    ],
)
def test_a_keyword_that_clashes_or_is_malformed_is_refused_naming_why(
    client: TestClient, database: Database, body: dict[str, Any], field: str, words: str
) -> None:
    list_id = _list(database, "Newsletter")
    answer = client.post(KEYWORDS, json={"list_id": list_id, **body})
    assert words in _problems(answer)[field]
    assert client.get(KEYWORDS).json() == []


def test_another_lists_keyword_is_refused_naming_that_list(
    client: TestClient, database: Database
) -> None:
    newsletter = _list(database, "Newsletter")
    vip = _list(database, "VIP club")
    make_keyword(database, newsletter, "VIP")
    answer = client.post(KEYWORDS, json={"word": "v i p", "list_id": vip})
    assert _problems(answer)["word"] == "VIP already adds people to the list 'Newsletter'"
    other = client.post(KEYWORDS, json={"word": "GOLD", "list_id": vip}).json()
    renamed = client.patch(f"{KEYWORDS}/{other['id']}", json={"word": "vip"})
    assert _problems(renamed)["word"] == "VIP already adds people to the list 'Newsletter'"
    # Its own word again is no clash.
    assert client.patch(f"{KEYWORDS}/{other['id']}", json={"word": "gold"}).status_code == 200


def test_single_opt_in_keeps_a_confirmation_text_for_numbers_that_once_sent_stop(
    client: TestClient, database: Database
) -> None:
    list_id = _list(database, "Newsletter")
    answer = client.post(
        KEYWORDS,
        json={"word": "JOIN", "list_id": list_id, "double_opt_in": False, "confirmation_text": ""},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["confirmation_text"].startswith("Shop: reply Y")


def test_the_confirmation_words_in_effect_are_the_ones_refused(
    database_url: str, database: Database
) -> None:
    settings = load_settings(
        database_url=database_url, secret_key="tests", confirm_keywords="OK,SURE"
    )
    list_id = _list(database, "Newsletter")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.EDITOR)
        refused = client.post(KEYWORDS, json={"word": "sure", "list_id": list_id})
        assert "CONFIRM_KEYWORDS" in _problems(refused)["word"]
        made = client.post(KEYWORDS, json={"word": "Y", "list_id": list_id})
        assert made.status_code == 201, made.text
        assert made.json()["confirmation_text"].startswith("textcast: reply OK to ")


def test_viewers_read_keywords_and_change_nothing(
    database_url: str, database: Database, client: TestClient
) -> None:
    list_id = _list(database, "Newsletter")
    keyword = make_keyword(database, list_id, "VIP")
    authorize(client, database_url, Role.VIEWER)
    assert [k["word"] for k in client.get(KEYWORDS).json()] == ["VIP"]
    assert client.post(KEYWORDS, json={"word": "JOIN", "list_id": list_id}).status_code == 403
    assert client.patch(f"{KEYWORDS}/{keyword.id}", json={"word": "X"}).status_code == 403
    assert client.delete(f"{KEYWORDS}/{keyword.id}").status_code == 403
    assert client.get(f"{KEYWORDS}/{10**30}").status_code in (400, 404)
