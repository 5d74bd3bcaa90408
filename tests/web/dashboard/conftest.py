"""Dashboard pages under a TestClient, signed in through the real sign-in form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import PASSWORD, make_user
from tests.web.apps import app_client, post_sign_in

from textcast.db import Database
from textcast.models import Role

SignedIn = Callable[..., AbstractContextManager[TestClient]]


def sign_in(client: TestClient, email: str) -> None:
    """Sign in with the form; afterwards the client sends the session's CSRF header too."""
    answer = post_sign_in(client, email, PASSWORD)
    assert answer.status_code == 303, answer.text
    home = client.get("/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    assert csrf is not None
    client.headers["X-CSRF-Token"] = csrf[1]


@pytest.fixture
def signed_in(database_url: str) -> SignedIn:
    """`with signed_in(Role.EDITOR, **settings) as client:` a signed-in browser-like client."""
    emails = iter(f"user{n}@example.com" for n in range(1000))

    @contextmanager
    def open_client(role: Role = Role.ADMIN, **settings: Any) -> Iterator[TestClient]:
        database = Database(database_url)
        email = next(emails)
        make_user(database, email, role)
        database.dispose()
        with app_client(database_url, **settings) as client:
            sign_in(client, email)
            yield client

    return open_client
