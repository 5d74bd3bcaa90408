"""Every route refuses anonymous callers unless it is on the public allowlist, and each role
can do exactly what its permissions say: proved by enumerating the app's own routes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from tests.factories import make_api_key

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import Role
from textcast.web.app import create_app

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),  # signs out whoever is signed in (with their CSRF token); else a no-op
    ("GET", "/l/{code}"),  # short-link redirects
    # The public sign-up form: its hosted page, the submission, CORS preflight, thank-you.
    ("GET", "/join/{slug}"),
    ("POST", "/join/{slug}"),
    ("OPTIONS", "/join/{slug}"),
    ("GET", "/join/{slug}/thanks"),
}
DASHBOARD_FORMS = {
    # The flow builder works without its script: its forms post here, with the session's
    # CSRF token in a field and the permission checked (tests/web/dashboard/test_flow_pages.py).
    ("POST", "/flows"),
    ("POST", "/flows/{flow_id:int}"),
    ("POST", "/flows/{flow_id:int}/{action}"),
    # The conversation pages post plain forms the same way, so an agent can answer without
    # the page's script (tests/web/dashboard/test_conversation_pages.py checks the token).
    ("POST", "/inbox/{conversation_id:int}/reply"),
    ("POST", "/inbox/{conversation_id:int}/change"),
    ("POST", "/inbox/{conversation_id:int}/contact"),
    ("POST", "/inbox/quick-replies"),
    ("POST", "/inbox/quick-replies/{quick_reply_id:int}"),
    ("POST", "/inbox/quick-replies/{quick_reply_id:int}/delete"),
    # A campaign's A/B test: the editor's section saved and the winner picked as plain forms
    # (tests/web/dashboard/test_ab_test_pages.py checks the token and the permission).
    ("POST", "/campaigns/ab-test"),
    ("POST", "/campaigns/{campaign_id:int}/ab-test"),
    ("POST", "/campaigns/{campaign_id:int}/ab-pick"),
}
API_PREFIXES = ("/api/", "/openapi.json", "/docs")
"""Everything else is a dashboard page: anonymous visitors are sent to sign in."""
PUBLIC_MOUNTS = {"/static", "/docs/assets"}  # our CSS and script, Swagger UI's files
GUARDED_MOUNTS = {
    # The embedded Sinch simulator: this server's own token for Sinch's API, else admins only.
    "/simulator": ["/simulator/xms/v1/simulated/batches", "/simulator/_simulator/ledger"],
}

# What each API route needs. A new route fails `test_every_api_route_is_classified` until
# it is listed here with the permission it requires.
NEEDS = {
    ("GET", "/openapi.json"): "read",
    ("GET", "/docs"): "read",
    ("GET", "/api/v1/me"): "read",
    ("GET", "/api/v1/me/keys"): "read",
    ("GET", "/api/v1/me/sessions"): "read",
    # With a key, changing your own password or sessions needs the admin scope, as managing
    # keys does; signed in, everyone may (tests/web/test_own_account_api.py).
    ("POST", "/api/v1/me/password"): "admin",
    ("POST", "/api/v1/me/sessions/end-others"): "admin",
    ("DELETE", "/api/v1/me/sessions/{session_id:session_id}"): "admin",
    ("PATCH", "/api/v1/me"): "admin",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("GET", "/api/v1/apikeys"): "read",
    # With a key, managing keys needs the admin scope; signed in, anyone manages their own
    # keys, never above their role (tests/web/test_accounts_api.py).
    ("POST", "/api/v1/apikeys"): "admin",
    ("DELETE", "/api/v1/apikeys/{key_id}"): "admin",
    ("GET", "/api/v1/audit"): "admin",
    ("GET", "/api/v1/campaigns"): "read",
    ("POST", "/api/v1/campaigns"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/send"): "send",
    ("POST", "/api/v1/campaigns/{campaign_id}/plan"): "read",  # computes, writes nothing
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): "send",
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): "send",
    ("PUT", "/api/v1/campaigns/{campaign_id}/budget"): "send",
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): "send",
    ("POST", "/api/v1/campaigns/{campaign_id}/duplicate"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/test"): "send",
    # A/B tests: the test is part of the draft (write); choosing the winner sends (send).
    ("GET", "/api/v1/campaigns/{campaign_id}/ab-test"): "read",
    ("PUT", "/api/v1/campaigns/{campaign_id}/ab-test"): "write",
    ("DELETE", "/api/v1/campaigns/{campaign_id}/ab-test"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/ab-test/pick"): "send",
    ("POST", "/api/v1/campaigns/{campaign_id}/ab-test/decide"): "send",
    ("GET", "/api/v1/campaigns/{campaign_id}"): "read",
    # A scheduled campaign too, before its start: it becomes a draft again, nothing sent.
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): "write",
    ("DELETE", "/api/v1/campaigns/{campaign_id}"): "write",
    ("GET", "/api/v1/campaigns/{campaign_id}/messages"): "read",
    ("GET", "/api/v1/campaigns/{campaign_id}/analytics"): "read",
    ("GET", "/api/v1/campaigns/{campaign_id}/export.csv"): "read",
    ("POST", "/api/v1/contacts"): "write",
    ("GET", "/api/v1/contacts"): "read",
    ("GET", "/api/v1/contacts/{contact_id}"): "read",
    ("PATCH", "/api/v1/contacts/{contact_id}"): "write",
    ("DELETE", "/api/v1/contacts/{contact_id}"): "write",
    ("POST", "/api/v1/contacts/{contact_id}/opt-out"): "write",
    ("POST", "/api/v1/contacts/{contact_id}/opt-in"): "write",
    ("GET", "/api/v1/contacts/{contact_id}/consent"): "read",
    ("GET", "/api/v1/contacts/{contact_id}/hygiene"): "read",
    ("POST", "/api/v1/contacts/{contact_id}/restore"): "write",
    ("GET", "/api/v1/campaigns/{campaign_id}/invalidated"): "read",
    ("GET", "/api/v1/consent/export"): "read",
    ("POST", "/api/v1/lists"): "write",
    ("GET", "/api/v1/lists"): "read",
    ("POST", "/api/v1/lists/{list_id}/members"): "write",
    ("DELETE", "/api/v1/lists/{list_id}/members/{contact_id}"): "write",
    ("POST", "/api/v1/segments"): "write",
    ("GET", "/api/v1/segments"): "read",
    ("PATCH", "/api/v1/segments/{segment_id}"): "write",
    ("DELETE", "/api/v1/segments/{segment_id}"): "write",
    ("GET", "/api/v1/segments/{segment_id}/size"): "read",
    ("POST", "/api/v1/segment-previews"): "read",
    ("GET", "/api/v1/segments/{segment_id}"): "read",
    ("GET", "/api/v1/segments/{segment_id}/contacts"): "read",
    ("GET", "/api/v1/keywords"): "read",
    ("POST", "/api/v1/keywords"): "write",
    ("GET", "/api/v1/keywords/{keyword_id}"): "read",
    ("PATCH", "/api/v1/keywords/{keyword_id}"): "write",
    ("DELETE", "/api/v1/keywords/{keyword_id}"): "write",
    ("POST", "/api/v1/imports"): "write",
    ("GET", "/api/v1/imports"): "read",
    ("GET", "/api/v1/imports/{import_id}"): "read",
    ("GET", "/api/v1/imports/{import_id}/rejections.csv"): "read",
    ("GET", "/api/v1/inbox"): "read",
    ("POST", "/api/v1/inbox/{inbound_id}/contact"): "write",
    ("GET", "/api/v1/conversations"): "read",
    ("GET", "/api/v1/conversations/unread"): "read",
    ("GET", "/api/v1/conversations/{contact_id:contact_id}"): "read",
    ("PATCH", "/api/v1/conversations/{contact_id:contact_id}"): "write",
    ("POST", "/api/v1/conversations/{contact_id:contact_id}/messages"): "send",
    ("GET", "/api/v1/conversations/by-id/{conversation_id}"): "read",
    ("PATCH", "/api/v1/conversations/by-id/{conversation_id}"): "write",
    ("POST", "/api/v1/conversations/by-id/{conversation_id}/messages"): "send",
    ("POST", "/api/v1/conversations/by-id/{conversation_id}/contact"): "write",
    ("GET", "/api/v1/quick-replies"): "read",
    ("POST", "/api/v1/quick-replies"): "write",
    ("PATCH", "/api/v1/quick-replies/{quick_reply_id}"): "write",
    ("DELETE", "/api/v1/quick-replies/{quick_reply_id}"): "write",
    # The simulator's numbers and bodies, and texting this server as any phone: admins only.
    ("GET", "/api/v1/simulator"): "admin",
    ("POST", "/api/v1/simulator/texts"): "admin",
    ("POST", "/api/v1/simulator/signups"): "admin",
    ("POST", "/api/campaigns/send"): "send",  # the tutorial's endpoint
    ("POST", "/api/v1/encoding"): "read",  # analyses a text, writes nothing
    ("GET", "/api/v1/settings"): "read",  # the configuration in effect, no secrets
    ("POST", "/api/v1/settings/sinch-check"): "admin",  # calls Sinch with our credentials
    ("PATCH", "/api/v1/settings"): "admin",  # settings changed on every node
    ("DELETE", "/api/v1/settings/{name:setting_name}"): "admin",
    ("POST", "/api/v1/previews"): "read",  # renders a text for a contact, writes nothing
    ("GET", "/api/v1/forms"): "read",
    ("POST", "/api/v1/forms"): "write",
    ("GET", "/api/v1/forms/{form_id:form_id}"): "read",
    ("PATCH", "/api/v1/forms/{form_id:form_id}"): "write",
    ("DELETE", "/api/v1/forms/{form_id:form_id}"): "write",  # archives: the sign-ups stay
    ("POST", "/api/v1/forms/{form_id:form_id}/restore"): "write",
    ("GET", "/api/v1/forms/{form_id:form_id}/embed"): "read",
    ("POST", "/api/v1/forms/preview"): "write",  # the form editor's live preview
    ("GET", "/api/v1/flows"): "read",
    ("POST", "/api/v1/flows"): "write",
    ("GET", "/api/v1/flows/templates"): "read",
    ("GET", "/api/v1/flows/{flow_id:flow_id}"): "read",
    ("PATCH", "/api/v1/flows/{flow_id:flow_id}"): "write",
    ("DELETE", "/api/v1/flows/{flow_id:flow_id}"): "write",
    ("GET", "/api/v1/flows/{flow_id:flow_id}/move-preview"): "read",
    # Publishing, resuming and moving runs start texts on their way, as sending does.
    ("POST", "/api/v1/flows/{flow_id:flow_id}/move-runs"): "send",
    ("POST", "/api/v1/flows/{flow_id:flow_id}/publish"): "send",
    ("POST", "/api/v1/flows/{flow_id:flow_id}/pause"): "send",
    ("POST", "/api/v1/flows/{flow_id:flow_id}/resume"): "send",
    ("POST", "/api/v1/flows/{flow_id:flow_id}/archive"): "send",
    ("GET", "/api/v1/flows/{flow_id:flow_id}/runs"): "read",
    ("GET", "/api/v1/flows/{flow_id:flow_id}/runs/{run_id}"): "read",
    ("GET", "/api/v1/contacts/{contact_id}/runs"): "read",
    ("POST", "/api/v1/events"): "send",  # an event starts runs, which send
    ("GET", "/api/v1/events"): "read",
    ("GET", "/api/v1/events/summary"): "read",
    # Webhook subscriptions receive every phone number their events carry: admins only.
    ("GET", "/api/v1/webhooks"): "admin",
    ("POST", "/api/v1/webhooks"): "admin",
    ("GET", "/api/v1/webhooks/{subscription_id}"): "admin",
    ("PATCH", "/api/v1/webhooks/{subscription_id}"): "admin",
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/enable"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/disable"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/test"): "admin",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): "admin",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/replay"): "admin",
    ("POST", "/api/v1/webhooks/{subscription_id}/replay"): "admin",
}
ROLE_GRANTS = {
    Role.VIEWER: {"read"},
    Role.EDITOR: {"read", "write", "send"},
    Role.ADMIN: {"read", "write", "send", "admin"},
}


@pytest.fixture
def app_and_database(database_url: str) -> Iterator[tuple[TestClient, Database]]:
    settings = load_settings(database_url=database_url, secret_key="guards", sinch_number=None)
    database = Database(database_url)
    # The simulator is mounted as `make run` does without Sinch credentials.
    with TestClient(create_app(settings, dispatch=False, simulator=True)) as client:
        yield client, database
    database.dispose()


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIRoute):
            found += [(method, context.path) for method in sorted(route.methods)]
    return found


def _mounts(client: TestClient) -> set[str]:
    return {
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Mount)
    }


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_every_route_refuses_anonymous_callers_but_the_allowlist(
    app_and_database: tuple[TestClient, Database],
) -> None:
    client, _ = app_and_database
    routes = _routes(client)
    assert len(routes) > 40
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        answer = client.request(method, _concrete(path), follow_redirects=False)
        if not path.startswith(API_PREFIXES):
            assert method == "GET" or (method, path) in DASHBOARD_FORMS, (
                f"dashboard pages only read; {method} {path} should be API"
            )
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        else:
            assert answer.status_code == 401, f"{method} {path} answered {answer.status_code}"
            assert answer.json()["error"] == "unauthenticated"
    assert set(routes) >= PUBLIC, "an allowlisted route no longer exists"


def test_mounts_are_either_public_files_or_guarded(
    app_and_database: tuple[TestClient, Database],
) -> None:
    client, _ = app_and_database
    assert _mounts(client) == PUBLIC_MOUNTS | set(GUARDED_MOUNTS)
    assert client.get("/static/textcast.css").status_code == 200
    for probes in GUARDED_MOUNTS.values():
        for path in probes:
            assert client.get(path).status_code == 401, path
            assert client.post(path, json={}).status_code == 401, path


def test_an_editor_cannot_reach_the_simulator_harness(
    app_and_database: tuple[TestClient, Database],
) -> None:
    client, database = app_and_database
    editor = make_api_key(database, Role.EDITOR)
    admin = make_api_key(database, Role.ADMIN)
    ledger = "/simulator/_simulator/ledger"
    assert client.get(ledger, headers={"X-API-Key": editor}).status_code == 403
    assert client.get(ledger, headers={"X-API-Key": admin}).status_code == 200


def test_every_api_route_is_classified(app_and_database: tuple[TestClient, Database]) -> None:
    client, _ = app_and_database
    guarded = {(m, p) for m, p in _routes(client) if p.startswith(API_PREFIXES)} - PUBLIC
    assert guarded == set(NEEDS)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_can_do_exactly_what_it_is_granted(
    app_and_database: tuple[TestClient, Database], role: Role
) -> None:
    """Permission is checked before the request is read: a refused caller gets 403 even for
    an empty body, and an allowed one gets anything but 401/403 (400, 404, 409, ...)."""
    client, database = app_and_database
    key = make_api_key(database, role)
    for (method, path), needs in NEEDS.items():
        answer = client.request(method, _concrete(path), headers={"Authorization": f"Bearer {key}"})
        if needs in ROLE_GRANTS[role]:
            assert answer.status_code not in (401, 403), (
                f"{role} refused {method} {path}: {answer.text}"
            )
        else:
            assert answer.status_code == 403, f"{role} allowed {method} {path}"
            assert answer.json()["error"] == "forbidden"


def test_a_read_scoped_key_of_an_admin_only_reads(
    app_and_database: tuple[TestClient, Database],
) -> None:
    from textcast.domain.accounts.permissions import Scope

    client, database = app_and_database
    key = make_api_key(database, Role.ADMIN, frozenset({Scope.READ}))
    headers = {"X-API-Key": key}
    assert client.get("/api/v1/campaigns", headers=headers).status_code == 200
    answer = client.post("/api/v1/campaigns", json={"name": "x", "body": "y"}, headers=headers)
    assert answer.status_code == 403
    assert client.get("/api/v1/audit", headers=headers).status_code == 403


def test_unknown_malformed_and_revoked_keys_are_refused(
    app_and_database: tuple[TestClient, Database],
) -> None:
    client, database = app_and_database
    key = make_api_key(database, Role.ADMIN)
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200 and ok.json()["via"] == "api_key"
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "tc_nope", "x" * 500):
        assert client.get("/api/v1/me", headers={"X-API-Key": wrong}).status_code == 401
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    )
    key_id = client.get("/api/v1/apikeys", headers={"X-API-Key": key}).json()[0]["id"]
    revoked = client.delete(f"/api/v1/apikeys/{key_id}", headers={"X-API-Key": key})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
