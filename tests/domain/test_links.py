import re

import pytest
from sqlalchemy import select

from textcast.db import Database
from textcast.domain import links
from textcast.domain.campaigns import new_reference
from textcast.domain.outgoing import outgoing
from textcast.models import Campaign, CampaignStatus, Link


def test_codes_are_url_safe_random_and_sized() -> None:
    codes = {links.make_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9]{8}", code) for code in codes)
    assert len(links.make_code(10)) == 10


@pytest.mark.parametrize("length", [7, 17])
def test_codes_fit_the_column_and_stay_unguessable(length: int) -> None:
    with pytest.raises(ValueError, match="8 to 16"):
        links.make_code(length)


@pytest.mark.parametrize(
    ("body", "urls"),
    [
        ("Sale at https://shop.example/spring today", ["https://shop.example/spring"]),
        ("Sale at https://shop.example/spring.", ["https://shop.example/spring"]),
        (
            "See https://a.example/x, https://b.example/y!",
            ["https://a.example/x", "https://b.example/y"],
        ),
        ("Sale (https://shop.example/spring).", ["https://shop.example/spring"]),
        ("[https://shop.example/a]", ["https://shop.example/a"]),
        (
            "Read https://en.wikipedia.org/wiki/Sale_(retail)",
            ["https://en.wikipedia.org/wiki/Sale_(retail)"],
        ),
        ("Is it https://shop.example/?q=1&n=2?", ["https://shop.example/?q=1&n=2"]),
        (
            "'https://shop.example/a' or \"http://shop.example/b\"",
            ["https://shop.example/a", "http://shop.example/b"],
        ),
        ("HTTPS://SHOP.EXAMPLE/A:", ["HTTPS://SHOP.EXAMPLE/A"]),
        ("<https://shop.example/a>", ["https://shop.example/a"]),
        ("https://shop.example/a https://shop.example/a.", ["https://shop.example/a"]),
        ("Hi {{ first_name }}: https://shop.example/{{code}}", ["https://shop.example/"]),
        ("no link: www.shop.example, ftp://files.example, https:// alone", []),
    ],
)
def test_finds_urls_without_the_punctuation_around_them(body: str, urls: list[str]) -> None:
    assert links.find_urls(body) == urls


def test_each_distinct_url_becomes_one_link_placeholder() -> None:
    body = (
        "New: https://shop.example/new. Sale: https://shop.example/sale (https://shop.example/new)"
    )
    sent = outgoing(body, smart_encoding=False, short_links=True)
    assert list(sent.urls) == ["https://shop.example/new", "https://shop.example/sale"]
    assert sent.template.sinch_body() == "New: ${link.0}. Sale: ${link.1} (${link.0})"


def test_a_body_without_urls_stays_as_it_is() -> None:
    sent = outgoing("Sale today. Reply STOP to opt out.", smart_encoding=False, short_links=True)
    assert (sent.template.sinch_body(), sent.urls) == ("Sale today. Reply STOP to opt out.", ())


def _link(database: Database, code: str = "abcdEFGH") -> None:
    with database.write() as session:
        campaign = Campaign(
            reference=new_reference(),
            name="Spring",
            body="https://shop.example/spring",
            encoding="GSM-7",
            parts=1,
            status=CampaignStatus.SENDING,
        )
        session.add(campaign)
        session.flush()
        session.add(Link(code=code, campaign_id=campaign.id, url="https://shop.example/spring"))


def _stored(database: Database, code: str = "abcdEFGH") -> Link:
    with database.read() as session:
        return session.scalars(select(Link).where(Link.code == code)).one()


def test_a_click_is_counted_and_gives_the_url(database: Database) -> None:
    _link(database)
    with database.write() as session:
        assert links.record_click(session, "abcdEFGH") == "https://shop.example/spring"
    first = _stored(database)
    assert first.clicks == 1
    assert first.first_click_at is not None and first.first_click_at == first.last_click_at
    with database.write() as session:
        links.record_click(session, "abcdEFGH")
    second = _stored(database)
    assert second.clicks == 2
    assert second.first_click_at == first.first_click_at
    assert second.last_click_at is not None and second.last_click_at > first.first_click_at


@pytest.mark.parametrize("code", ["abcdEFGh", "ABCDEFGH", "", "x" * 40])
def test_an_unknown_code_gives_none_and_counts_nothing(database: Database, code: str) -> None:
    _link(database)
    with database.write() as session:
        assert links.record_click(session, code) is None
    assert _stored(database).clicks == 0
