"""/keywords: the keywords with their list, mode and figures for everyone; the forms to add,
edit and remove them for editors only."""

from __future__ import annotations

import html

from sqlalchemy import select
from tests.factories import make_keyword
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import section

from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import Role, Signup, SignupChannel, SignupStatus, utcnow


def _list(database: Database, name: str) -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def test_a_viewer_reads_the_keywords_and_their_figures_without_edit_controls(
    signed_in: SignedIn, database: Database
) -> None:
    list_id = _list(database, "VIP club")
    keyword = make_keyword(database, list_id, "VIP", welcome_text=None)
    with database.write() as session:
        for state in (SignupStatus.PENDING, SignupStatus.PENDING, SignupStatus.EXPIRED):
            session.add(
                Signup(
                    channel=SignupChannel.KEYWORD,
                    status=state,
                    phone="+12015550100",
                    list_id=list_id,
                    keyword_id=keyword.id,
                    double_opt_in=True,
                    submitted_at=utcnow(),
                )
            )
    with signed_in(Role.VIEWER) as viewer:
        page = viewer.get("/keywords")
    assert page.status_code == 200
    assert 'href="/keywords" aria-current="page"' in page.text
    row = section(page.text, f"keyword-{keyword.id}")
    assert ">VIP<" in row and "VIP club" in row and "Double opt-in" in row
    cells = [c.strip() for c in row.split('<td class="num">')[1:]]
    assert [c.split("<")[0] for c in cells] == ["3", "0", "2", "1"]
    assert html.escape(keyword.already_subscribed_text) in row
    assert "None" in row  # no welcome text
    for control in ("data-keyword-form", "data-api-action", "keyword-form", "keywords.js"):
        assert control not in page.text
    assert "New keyword" not in page.text


def test_an_editor_gets_the_forms_to_add_edit_and_remove(
    signed_in: SignedIn, database: Database
) -> None:
    list_id = _list(database, "VIP club")
    keyword = make_keyword(database, list_id, "VIP")
    with signed_in(Role.EDITOR, brand_name="Shop", confirm_keywords="OK,Y") as editor:
        page = editor.get("/keywords").text
        assert '<script src="/static/keywords.js" defer></script>' in page
        assert f'data-keyword-form="PATCH /api/v1/keywords/{keyword.id}"' in page
        assert f'data-api-action="DELETE /api/v1/keywords/{keyword.id}"' in page
        assert 'data-confirm="Remove the keyword VIP?' in page
        new = section(page, "keyword-form")
        assert 'data-keyword-form="POST /api/v1/keywords"' in new
        assert f'<option value="{list_id}">VIP club</option>' in new
        assert "Shop: reply OK to" in new  # the defaults in effect, as placeholders
        # What the page's forms send, the API takes.
        added = editor.post(
            "/api/v1/keywords", json={"word": "join", "list_id": list_id, "welcome_text": None}
        )
        assert added.status_code == 201, added.text
        assert ">JOIN<" in editor.get("/keywords").text
    with database.read() as session:
        assert session.scalars(select(Signup)).all() == []


def test_with_no_list_the_page_says_to_create_one_first(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor:
        page = editor.get("/keywords").text
    assert "No keywords yet." in page
    assert "Create a list first" in page
