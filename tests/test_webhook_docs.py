"""docs/webhooks.md stays true: its verification snippets accept textcast's own signatures and
refuse a forged one, and its catalogue table has every event type with exactly its fields."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from textcast.domain import stream
from textcast.domain.stream import envelope
from textcast.domain.webhooks import signatures
from textcast.models import EventType, utcnow

DOC = (Path(__file__).resolve().parents[1] / "docs" / "webhooks.md").read_text()


def _snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC, re.S)


def _signed() -> tuple[str, dict[str, str], bytes]:
    secret = signatures.new_secret()
    body = envelope(EventType.WEBHOOK_TEST, {"subscription_id": 1, "message": "hi"}, utcnow())
    headers = signatures.headers(secret, "msg_test", int(time.time()), body)
    return secret, headers, body.encode()


def test_the_library_snippet_verifies_our_signature() -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    secret, headers, body = _signed()
    scope: dict[str, Any] = {"SECRET": secret}
    exec(_snippets()[0], scope)  # noqa: S102 - the documentation's own code
    assert scope["receive"](body, headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        scope["receive"](body + b" ", headers)


def test_the_by_hand_snippet_verifies_our_signature() -> None:
    secret, headers, body = _signed()
    scope: dict[str, Any] = {}
    exec(_snippets()[1], scope)  # noqa: S102 - the documentation's own code
    verify = scope["verify"]
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"hi", b"ho"))
    assert not verify(signatures.new_secret(), headers, body)
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not verify(secret, stale, body)


def test_the_catalogue_table_names_every_type_and_its_fields() -> None:
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| .*? \| (.*) \|$", DOC, re.M))
    assert set(rows) == {str(t) for t in EventType}
    for type_, spec in stream.CATALOGUE.items():
        assert re.findall(r"`(\w+)`", rows[str(type_)]) == list(spec.fields), type_
        assert f"| `{type_}` | {spec.summary} |" in DOC
