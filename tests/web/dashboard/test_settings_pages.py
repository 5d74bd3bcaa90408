"""/settings: the configuration in effect without secrets, the connection test, users and
everybody else's keys for admins only (everyone's own keys are on /account), and secrets that
are shown once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.factories import make_api_key
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.models import Role

SECRETS = {
    "sinch_service_plan_id": "4f2a9c1e7b3d4a8f9e6c5b1a2d3e4f5a",
    "sinch_api_token": "sinch-api-token-do-not-show-3f9a",
    "sinch_webhook_secret": "hmac-secret-do-not-show-77e1",
    "webhook_basic_auth": "sinch:basic-password-do-not-show-21c4",
    "webhook_path_token": "path-token-do-not-show-9b0d4c2a",
    "secret_key": "instance-key-do-not-show-5a6b",
}
ADMIN_ONLY = ('id="sinch-check"', 'id="sinch-check-result"', 'id="users"', 'id="new-user-form"')


def _page(client: TestClient) -> str:
    answer = client.get("/settings")
    assert answer.status_code == 200, answer.text
    text: str = answer.text
    return text


def _user_row(page: str, user_id: int) -> str:
    start = page.index(f'<tr data-user-id="{user_id}">')
    return page[start : page.index("</tr>", start)]


def test_everyone_sees_the_configuration_and_the_variables_that_set_it(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.VIEWER, sinch_number="+12015550123", send_rate=12.5) as client:
        page = _page(client)
    assert "<code>+12015550123</code>" in page
    assert "12.5 message parts per second" in page
    for variable in (
        "SINCH_REGION",
        "SINCH_BASE_URL",
        "SINCH_NUMBER",
        "SEND_RATE",
        "WEBHOOK_PATH_TOKEN",
        "QUIET_HOURS_RULES",
        "PRICES",
        "API_RATE_LIMIT",
        "DAILY_RECIPIENT_QUOTA",
        "KEYWORD_REPLIES_PER_HOUR",
    ):
        assert f'<code class="var">{variable}</code>' in page, variable
    assert "built-in" in page and "simulator" in page  # no credentials: the simulator
    assert 'class="tag tag-estimate">estimate<' in page  # built-in prices are flagged


def test_no_secret_appears_on_the_page(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN, **SECRETS) as client:
        page = _page(client)
        api = client.get("/api/v1/settings").text
    for secret in [*SECRETS.values(), "basic-password-do-not-show"]:
        assert secret not in page and secret not in api, secret
    assert "<code>4f2a…4f5a</code>" in page  # the service plan id, partly hidden
    assert "set (not shown)" in page
    assert "/api/webhooks/{WEBHOOK_PATH_TOKEN}/delivery-reports" in page


def test_the_callbacks_card_warns_only_when_callbacks_are_really_anonymous(
    signed_in: SignedIn,
) -> None:
    warning = "Callbacks are not authenticated"
    with signed_in(Role.VIEWER) as client:  # simulator mode, no webhook setting
        simulated = _page(client)
    with signed_in(Role.VIEWER, webhooks_unauthenticated=True) as client:
        anonymous = _page(client)
    assert warning not in simulated
    assert "the built-in simulator's own secret" in simulated
    assert warning in anonymous and "WEBHOOKS_UNAUTHENTICATED" in anonymous


def test_viewers_see_no_connection_test_no_users_and_no_keys_but_a_way_to_their_own(
    signed_in: SignedIn, database_url: str
) -> None:
    database = Database(database_url)
    make_api_key(database, Role.EDITOR, email="someone-else@example.com")
    database.dispose()
    with signed_in(Role.VIEWER) as client:
        created = client.post("/api/v1/apikeys", json={"name": "my script", "scopes": ["read"]})
        assert created.status_code == 201, created.text
        page = _page(client)
    for marker in ADMIN_ONLY:
        assert marker not in page, marker
    assert 'id="all-keys"' not in page and "someone-else@example.com" not in page
    assert 'id="keys"' in page and '<a href="/account#keys">My account</a>' in page
    assert "my script" not in page  # on /account


def test_admins_see_the_connection_test_the_users_and_everybody_elses_keys(
    signed_in: SignedIn, database_url: str
) -> None:
    database = Database(database_url)
    make_api_key(database, Role.EDITOR, email="someone-else@example.com")
    database.dispose()
    with signed_in(Role.ADMIN) as client:
        client.post("/api/v1/apikeys", json={"name": "my own script"})
        page = _page(client)
    for marker in (*ADMIN_ONLY, 'id="all-keys"', 'id="keys"'):
        assert marker in page, marker
    users = page[page.index('id="users"') : page.index('id="new-user-form"')]
    assert "someone-else@example.com" in users and "(you)" in users
    assert 'data-user-disabled="true"' in users  # the other user can be disabled
    all_keys = page[page.index('id="all-keys"') :]
    assert "someone-else@example.com" in all_keys and "my own script" not in all_keys
    headers = re.findall(r'<th scope="col">([^<]+)</th>', all_keys)
    assert headers[-2:] == ["State", "Actions"]
    row = all_keys[
        all_keys.index("<tr data-key-id=") : all_keys.index(
            "</tr>", all_keys.index("<tr data-key-id=")
        )
    ]
    assert 'data-key-state><span class="status status-completed">active</span>' in row
    assert 'data-api-action="DELETE /api/v1/apikeys/' in row and "data-confirm=" in row


def test_a_created_users_password_is_shown_once_and_they_can_be_disabled(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.ADMIN) as client:
        created = client.post("/api/v1/users", json={"email": "new@example.com", "role": "editor"})
        assert created.status_code == 201, created.text
        password = created.json()["password"]
        page = _page(client)
        assert password not in page
        user_id = created.json()["id"]
        row = _user_row(page, user_id)
        assert "new@example.com" in row and 'value="editor" selected' in row
        assert "active</span>" in row
        disabled = client.patch(f"/api/v1/users/{user_id}", json={"disabled": True})
        assert disabled.status_code == 200, disabled.text
        row = _user_row(_page(client), user_id)
    assert "disabled</span>" in row and 'data-user-disabled="false"' in row


def test_the_page_keeps_to_the_content_security_policy(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN) as client:
        answer = client.get("/settings")
        script = client.get("/static/settings.js")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page = answer.text
    assert '<script src="/static/settings.js" defer></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler"
    assert not re.search(r"\sstyle\s*=", page), "an inline style"
    assert script.status_code == 200 and "sinch-check" in script.text


def test_form_fields_have_labels(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN) as client:
        client.post("/api/v1/users", json={"email": "other@example.com"})
        page = _page(client)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    fields = re.findall(
        r'<(?:input|select)\b(?![^>]*type="(?:hidden|checkbox)")[^>]*id="([^"]+)"', page
    )
    assert fields and set(fields) <= labelled, set(fields) - labelled
    # Checkboxes sit inside their label.
    assert page.count('type="checkbox"') == len(
        re.findall(r'<label class="choice"><input type="checkbox"', page)
    )


def _setting_block(page: str, name: str) -> str:
    start = page.index(f'data-setting="{name}"')
    return page[start : page.index("</div>", start)]


def test_admins_get_a_form_per_group_saying_where_each_value_comes_from(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.ADMIN, sinch_number="+12015550123") as client:
        changed = client.patch("/api/v1/settings", json={"BRAND_NAME": "Acme"})
        assert changed.status_code == 200, changed.text
        page = _page(client)
    for group in ("sending", "quiet_hours", "prices", "keyword_replies", "limits"):
        assert f'id="settings-{group}" data-settings-group="{group}"' in page, group
    sender = _setting_block(page, "SINCH_NUMBER")
    assert 'name="SINCH_NUMBER" type="text" value="+12015550123"' in sender
    assert 'from the environment (<code class="var">SINCH_NUMBER</code>)' in sender
    assert "Reset to environment default" not in sender
    brand = _setting_block(page, "BRAND_NAME")
    assert 'value="Acme"' in brand
    assert "changed here by user" in brand
    assert 'data-api-action="DELETE /api/v1/settings/BRAND_NAME"' in brand
    assert "Reset to environment default" in brand
    assert "Now: textcast's default" in _setting_block(page, "FREQUENCY_CAP")
    assert '<label for="setting-QUIET_HOURS_RULES">' in page


def test_viewers_and_editors_read_the_changeable_settings_without_forms(
    signed_in: SignedIn,
) -> None:
    for role in (Role.VIEWER, Role.EDITOR):
        with signed_in(role, brand_name="Oldco") as client:
            page = _page(client)
        assert 'id="changeable"' in page
        assert "data-settings-group" not in page
        assert "Reset to environment default" not in page
        brand = _setting_block(page, "BRAND_NAME")
        assert "<dd>Oldco" in brand
        assert "from the environment" in brand
