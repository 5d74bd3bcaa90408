from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.simulator.harness import Receiver, serving_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One client per module: creating an httpx client builds an SSL context (~40 ms).
    with httpx.Client() as client:
        yield client
