"""The app under a TestClient, with settings for the case at hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from textcast.config import load_settings
from textcast.web.app import create_app


@contextmanager
def app_client(
    database_url: str, base_url: str = "http://testserver", **settings: Any
) -> Iterator[TestClient]:
    config = load_settings(database_url=database_url, **{"secret_key": "tests", **settings})
    app = create_app(config, dispatch=False, simulator=False)
    with TestClient(app, base_url=base_url) as client:
        yield client
