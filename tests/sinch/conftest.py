from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.sinch.wire import BASE_URL, PLAN, TOKEN, FakeSinch, Sleeps

from textcast.sinch.client import SinchClient


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sinch() -> FakeSinch:
    return FakeSinch()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(sinch: FakeSinch, sleeps: Sleeps) -> Callable[..., SinchClient]:
    def build(**options: Any) -> SinchClient:
        options.setdefault("max_retries", 3)
        return SinchClient(
            BASE_URL, PLAN, TOKEN, transport=httpx.MockTransport(sinch), sleep=sleeps, **options
        )

    return build


@pytest.fixture
def client(connect: Callable[..., SinchClient]) -> SinchClient:
    return connect()
