import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.domain.content import links
from textcast.domain.content.rendering import outgoing
from textcast.models import Campaign, CampaignStatus, Link, LinkVisit, utcnow


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


ANA = links.visitor_of(b"key", "203.0.113.7", "Mozilla/5.0 (iPhone)")
BOB = links.visitor_of(b"key", "198.51.100.2", "Mozilla/5.0 (Android)")


def test_a_click_is_counted_and_gives_the_url(database: Database) -> None:
    _link(database)
    with database.write() as session:
        assert links.record_click(session, "abcdEFGH", ANA) == "https://shop.example/spring"
    first = _stored(database)
    assert (first.clicks, first.unique_clicks) == (1, 1)
    assert first.first_click_at is not None and first.first_click_at == first.last_click_at
    with database.write() as session:
        links.record_click(session, "abcdEFGH", ANA)
    second = _stored(database)
    assert (second.clicks, second.unique_clicks) == (2, 1)
    assert second.first_click_at == first.first_click_at
    assert second.last_click_at is not None and second.last_click_at > first.first_click_at


def test_each_client_counts_once_per_window(database: Database) -> None:
    _link(database)
    for visitor in (ANA, ANA, BOB, ANA, BOB):
        with database.write() as session:
            links.record_click(session, "abcdEFGH", visitor)
    assert (_stored(database).clicks, _stored(database).unique_clicks) == (5, 2)
    with database.write() as session:  # an hour and a bit later
        session.execute(
            update(LinkVisit).values(counted_at=utcnow() - links.VISIT_WINDOW - timedelta(1))
        )
    with database.write() as session:
        links.record_click(session, "abcdEFGH", ANA)
    assert (_stored(database).clicks, _stored(database).unique_clicks) == (6, 3)
    with database.read() as session:  # Bob's visit was forgotten with its window
        assert session.scalars(select(LinkVisit.visitor)).all() == [ANA]


def test_visitors_are_keyed_hashes_not_addresses() -> None:
    assert len(ANA) == links.VISITOR_CHARS and "203.0.113.7" not in ANA
    assert links.visitor_of(b"other key", "203.0.113.7", "Mozilla/5.0 (iPhone)") != ANA
    assert links.visitor_of(b"key", "203.0.113.7", "curl/8.5") != ANA


@pytest.mark.parametrize("code", ["abcdEFGh", "ABCDEFGH", "", "x" * 40])
def test_an_unknown_code_gives_none_and_counts_nothing(database: Database, code: str) -> None:
    _link(database)
    with database.write() as session:
        assert links.record_click(session, code, ANA) is None
    assert _stored(database).clicks == 0
    with database.read() as session:
        assert session.scalars(select(LinkVisit)).all() == []
