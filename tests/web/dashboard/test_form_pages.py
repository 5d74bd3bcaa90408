"""/forms, /forms/new and /forms/{id}: the forms with their figures, the editor given every
setting, the embed code to copy (escaped), and viewers who see without changing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import section

from textcast.models import Role


def _data(page: str, name: str) -> Any:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found is not None, name
    return json.loads(html.unescape(found[1]))


def _form(client: Any, **values: Any) -> dict[str, Any]:
    vip = client.post("/api/v1/lists", json={"name": "VIP"}).json()
    answer = client.post(
        "/api/v1/forms",
        json={"list_id": vip["id"], "slug": "vip-club", "title": "Join VIP", **values},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_the_forms_page_lists_each_form_with_its_figures(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor:
        created = _form(editor, name="Spring <sale>")
        archived = editor.post(
            "/api/v1/forms",
            json={"list_id": created["list_id"], "slug": "old-one", "title": "Old"},
        ).json()
        editor.delete(f"/api/v1/forms/{archived['id']}")

        page = editor.get("/forms")
        assert page.status_code == 200
        assert '<a href="/forms" aria-current="page">Forms</a>' in page.text
        row = section(page.text, f"form-{created['id']}")
        assert "Spring &lt;sale&gt;" in row and ">VIP<" in row
        assert re.search(r'href="http://[^"]+/join/vip-club"', row)
        assert row.count('class="num">0<') == 4 and "\u2013" in row  # no views: no conversion yet
        assert f'data-api-action="DELETE /api/v1/forms/{created["id"]}"' in row
        old = section(page.text, f"form-{archived['id']}")
        assert "archived" in old and "not online" in old
        assert f'data-api-action="POST /api/v1/forms/{archived["id"]}/restore"' in old
        assert 'id="new-form"' in page.text


def test_the_editor_starts_a_new_form_from_the_defaults(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR, brand_name="Shop") as editor:
        editor.post("/api/v1/lists", json={"name": "VIP"})
        page = editor.get("/forms/new")
        assert page.status_code == 200
        assert '<script src="/static/forms.js" defer></script>' in page.text
        assert "Msg &amp; data rates may apply" in section(page.text, "form-disclosure")
        assert "reply Y to confirm" in section(page.text, "form-confirmation")
        assert ">VIP</option>" in section(page.text, "form-list")
        texts = _data(page.text, "data-default-texts")
        assert "Votre consentement" in texts["fr"]["disclosure"]
        assert [f["name"] for f in _data(page.text, "data-known-fields")] == [
            "first_name",
            "last_name",
            "email",
            "birthday",
        ]
        assert 'id="form-save"' in page.text and "Create form" in page.text
        assert 'sandbox="allow-same-origin"' in section(page.text, "form-preview")
        assert 'width="375"' in section(page.text, "form-preview")
        assert 'id="form-embed"' not in page.text  # saved forms only


def test_a_forms_page_shows_its_settings_figures_and_embed_code(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor, signed_in(Role.VIEWER) as viewer:
        created = _form(
            editor,
            fields=[{"name": "store", "label": '<b>"Store"</b>', "required": True}],
            allowed_origins=["https://shop.example"],
        )
        mine = editor.get(f"/forms/{created['id']}").text
        assert 'value="vip-club"' in mine
        assert "https://shop.example</textarea>" in mine
        assert 'value="&lt;b&gt;&#34;Store&#34;&lt;/b&gt;"' in mine
        assert ">0</dd>" in section(mine, "form-views")
        code = section(mine, "embed-html")
        assert "&lt;form method=&#34;post&#34;" in code and "<b>" not in code
        assert 'data-copy="embed-html"' in mine and 'data-copy="embed-iframe"' in mine
        assert f'data-api-action="DELETE /api/v1/forms/{created["id"]}"' in mine
        assert "Version 1: a new text becomes version 2" in mine

        seen = viewer.get(f"/forms/{created['id']}")
        assert seen.status_code == 200
        assert 'id="form-save"' not in seen.text and "data-api-action" not in seen.text
        assert '<fieldset class="form-settings" id="form-settings" disabled>' in seen.text
        assert 'id="copy-html"' in seen.text
        # Viewers cannot ask for previews of edits: they see the saved page, its view uncounted.
        assert 'data-page-preview="/join/vip-club?preview=1"' in seen.text
        assert 'data-edits="false"' in seen.text and 'data-edits="true"' in mine
        listed = viewer.get("/forms").text
        assert 'id="new-form"' not in listed and "data-api-action" not in listed

        missing = viewer.get("/forms/999")
        assert missing.status_code == 404 and "All sign-up forms" in missing.text
        assert viewer.get(f"/forms/{10**30}").status_code == 404


def test_an_archived_form_is_read_only_until_restored(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor:
        created = _form(editor)
        editor.delete(f"/api/v1/forms/{created['id']}")
        page = editor.get(f"/forms/{created['id']}").text
        assert "This form is archived" in page
        assert 'id="form-save"' not in page
        assert f'data-api-action="POST /api/v1/forms/{created["id"]}/restore"' in page
