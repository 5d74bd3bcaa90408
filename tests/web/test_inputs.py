"""What every API body goes through: the NUL check, at any depth."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_core import PydanticCustomError

from textcast.web.api.inputs import refuse_nul


def _nested(depth: int, inner: Any) -> Any:
    value = inner
    for index in range(depth):
        value = {"a": [value]} if index % 2 else {"b": value}
    return value


def test_a_nul_is_found_and_named_at_any_depth() -> None:
    assert refuse_nul(_nested(5000, "fine")) is not None
    with pytest.raises(PydanticCustomError) as caught:
        refuse_nul({"ok": ["x", {"deep": _nested(5000, "bad\x00")}]})
    message = str(caught.value)
    assert "(at ok[1].deep.a[0].b.a[0].b" in message and message.endswith("...)")
    assert len(message) < 300


def test_the_first_nul_is_named_in_document_order() -> None:
    with pytest.raises(PydanticCustomError) as caught:
        refuse_nul({"a": ["x", "y\x00"], "b\x00": 1, "c": "\x00"})
    assert "(at a[1])" in str(caught.value)
    with pytest.raises(PydanticCustomError) as caught:
        refuse_nul({"a": ["x"], "b\x00": 1, "c": "\x00"})
    assert "(at 'b\\x00')" in str(caught.value)
