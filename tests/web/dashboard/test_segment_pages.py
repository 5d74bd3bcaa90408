"""/segments/new, /segments/{id} and /segments/{id}/edit: the rules in words, the size, the
contacts a page at a time, and the builder given what it offers."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import add_contact, section

from textcast.db import Database
from textcast.models import Role, Segment

FRANCE = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "FR"}]}


def _data(page: str, name: str) -> Any:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found is not None, name
    return json.loads(html.unescape(found[1]))


def test_a_segment_page_reads_its_rules_and_pages_its_contacts(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        made = [add_contact(editor, f"+336123456{n:02d}")["id"] for n in range(53)]
        add_contact(editor, "+12015550100")
        editor.post(f"/api/v1/contacts/{made[0]}/opt-out", json={})
        segment = editor.post("/api/v1/segments", json={"name": "France", "rules": FRANCE}).json()

        page = viewer.get(f"/segments/{segment['id']}")
        assert page.status_code == 200
        assert "<h1>France</h1>" in page.text
        assert "Contacts in France" in section(page.text, "segment-words")
        assert ">53<" in section(page.text, "segment-contacts")
        assert ">52<" in section(page.text, "segment-subscribed")
        members = section(page.text, "segment-members")
        shown = [int(n) for n in re.findall(r'href="/contacts/(\d+)"', members)]
        assert shown == made[:50]
        assert "segment-delete" not in page.text and "/edit" not in page.text

        more = re.search(r'href="(/segments/\d+\?cursor=\d+)" rel="next"', page.text)
        assert more is not None
        rest = viewer.get(html.unescape(more[1])).text
        assert [int(n) for n in re.findall(r'href="/contacts/(\d+)"', rest)] == made[50:]

        mine = editor.get(f"/segments/{segment['id']}").text
        assert f'href="/segments/{segment["id"]}/edit"' in mine
        assert f'data-api-action="DELETE /api/v1/segments/{segment["id"]}"' in mine
        assert 'data-then="/contacts/lists"' in mine

        assert viewer.get("/segments/999").status_code == 404
        assert "All lists and segments" in viewer.get("/segments/999").text
        assert viewer.get(f"/segments/{10**30}").status_code == 404


def test_a_broken_segment_page_says_what_to_fix(signed_in: SignedIn, database_url: str) -> None:
    database = Database(database_url)
    with database.write() as session:
        broken = Segment(name="Old", rules={"conditions": [{"field": "x", "op": "eq"}]})
        session.add(broken)
        session.flush()
        broken_id = broken.id
    database.dispose()
    with signed_in(Role.EDITOR) as editor:
        page = editor.get(f"/segments/{broken_id}")
        assert page.status_code == 200
        assert "cannot be used until its rules are fixed" in page.text
        assert "rules.conditions[0].field" in section(page.text, "segment-problems")
        assert 'id="segment-members"' not in page.text
        assert editor.get(f"/segments/{broken_id}/edit").status_code == 200


def test_the_builder_is_given_the_rules_and_the_choices(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor, signed_in(Role.VIEWER) as viewer:
        add_contact(editor, "+33612345678", attributes={"plan": "gold", "points": 3})
        vip = editor.post("/api/v1/lists", json={"name": "VIP"}).json()
        segment = editor.post("/api/v1/segments", json={"name": "France", "rules": FRANCE}).json()

        new = editor.get("/segments/new")
        assert new.status_code == 200
        assert '<script src="/static/segments.js" defer></script>' in new.text
        assert _data(new.text, "data-rules")["conditions"][0]["field"] == "status"
        choices = _data(new.text, "data-choices")
        assert choices["lists"] == [{"id": vip["id"], "name": "VIP"}]
        assert choices["attributes"] == ["plan", "points"]
        assert {"code": "FR", "name": "France"} in choices["countries"]
        assert choices["max_depth"] == 3
        assert 'id="segment-save"' in new.text and "Create segment" in new.text

        edit = editor.get(f"/segments/{segment['id']}/edit")
        assert _data(edit.text, "data-rules") == FRANCE
        assert f'data-segment-id="{segment["id"]}"' in edit.text
        assert 'value="France"' in edit.text and "Save changes" in edit.text

        looking = viewer.get("/segments/new")
        assert looking.status_code == 200 and 'id="segment-save"' not in looking.text
        assert editor.get("/segments/999/edit").status_code == 404
