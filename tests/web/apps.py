"""The app under a TestClient, with settings for the case at hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi.testclient import TestClient

from textcast.config import Settings, load_settings, webhook_secret
from textcast.simulator import signature_headers
from textcast.web.app import create_app


@contextmanager
def app_client(
    database_url: str, base_url: str = "http://testserver", **settings: Any
) -> Iterator[TestClient]:
    config = load_settings(database_url=database_url, **{"secret_key": "tests", **settings})
    app = create_app(config, dispatch=False, simulator=False)
    with TestClient(app, base_url=base_url) as client:
        yield client


def post_sign_in(client: TestClient, email: str, password: str, **form: str) -> httpx.Response:
    """The sign-in form as a browser sends it: its CSRF token read from the page first."""
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token[1], **form},
        follow_redirects=False,
    )


def signed_by_sinch(settings: Settings, body: bytes) -> dict[str, str]:
    """Headers of a callback signed as this installation's Sinch (or built-in simulator) signs
    it: with SINCH_WEBHOOK_SECRET, or the secret derived for simulator mode; a new nonce each."""
    secret = webhook_secret(settings)
    assert secret is not None, "these settings verify no signature"
    return {"content-type": "application/json", **signature_headers(secret, body)}


def inbound_callback(n: int, sender: str, body: str) -> bytes:
    """Sinch's inbound (MO) callback: the `n`th message, from `sender` to our number."""
    return json.dumps(
        {
            "type": "mo_text",
            "id": f"01MO{n:022d}",
            "from": sender.removeprefix("+"),
            "to": "12017777777",
            "body": body,
            "received_at": "2026-01-01T10:00:00.000Z",
        }
    ).encode()
