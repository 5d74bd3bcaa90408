"""What every answer carries, whoever asks: caching rules and redirects that stay on this site."""

from __future__ import annotations

import pytest
from tests.factories import PASSWORD, make_user
from tests.web.apps import app_client, post_sign_in

from textcast.db import Database
from textcast.models import Role

EMAIL = "ana@example.com"


@pytest.fixture
def database(database_url: str) -> Database:
    db = Database(database_url)
    make_user(db, EMAIL, Role.EDITOR)
    return db


def test_pages_and_answers_with_personal_data_are_never_cached(
    database_url: str, database: Database
) -> None:
    with app_client(database_url) as client:
        assert post_sign_in(client, EMAIL, PASSWORD).status_code == 303
        client.post("/api/v1/contacts", json={"phone": "+12015550100"})
        for path in ("/", "/contacts", "/api/v1/contacts", "/api/v1/me", "/login", "/nowhere"):
            answer = client.get(path)
            assert answer.headers["cache-control"] == "no-store", path


def test_static_assets_stay_cacheable(database_url: str, database: Database) -> None:
    with app_client(database_url) as client:
        for path in ("/static/textcast.css", "/docs/assets/swagger-ui.css"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "no-store" not in answer.headers.get("cache-control", ""), path


def test_a_spoofed_host_never_comes_back_in_a_redirect(
    database_url: str, database: Database
) -> None:
    with app_client(database_url) as client:
        for path, expected in [
            ("/contacts/", "/contacts"),
            ("/api/v1/contacts/?search=ana", "/api/v1/contacts?search=ana"),
        ]:
            answer = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
            assert answer.status_code == 307, path
            assert answer.headers["location"] == expected, path
        # and the redirect still lands where it should for a real browser
        assert client.get("/login/").url.path == "/login"
