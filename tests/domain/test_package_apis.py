"""The public APIs the domain packages name in their `__init__`: every name is there, and the
inbox's, imported on first use, leaves the Sinch adapter's import of its event types light."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from textcast.domain import inbox, outbox, phones


@pytest.mark.parametrize("package", [outbox, phones], ids=lambda p: p.__name__)
def test_every_public_name_is_the_one_its_module_defines(package: ModuleType) -> None:
    for name in package.__all__:
        value = getattr(package, name)
        assert getattr(importlib.import_module(value.__module__), name) is value


def test_the_inbox_finds_every_name_it_lists_where_it_lists_it() -> None:
    """The names typed under TYPE_CHECKING are the ones imported on first use, from the same
    modules."""
    assert inbox.__file__ is not None
    tree = ast.parse(Path(inbox.__file__).read_text())
    typed = {
        alias.name: node.module.rsplit(".", 1)[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and ".inbox." in node.module
        for alias in node.names
    }
    homes: dict[str, str] = vars(inbox)["_HOMES"]
    assert typed == homes
    for name, home in homes.items():
        defining = importlib.import_module(f"textcast.domain.inbox.{home}")
        assert getattr(inbox, name) is getattr(defining, name)
    with pytest.raises(AttributeError):
        _ = inbox.no_such_name


def test_the_sinch_adapter_loads_the_event_types_and_nothing_else_of_the_inbox() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, textcast.sinch.events; "
            "print(*sorted(m for m in sys.modules if m.startswith('textcast.domain')))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert loaded == ["textcast.domain", "textcast.domain.inbox", "textcast.domain.inbox.events"]
