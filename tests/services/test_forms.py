"""Sign-up forms' use cases: each commits its change with its audit entry; a refused one, or a
change that changes nothing, writes none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import lists
from textcast.domain.errors import InvalidInput
from textcast.domain.signups.forms import FormDraft
from textcast.models import SignupForm
from textcast.services import forms

EDITOR = Actor("ed@example.com", None, "192.0.2.1")


def _trail(database: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with database.read() as session:
        entries = audit.entries(session, limit=100)
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(entries)]


def test_each_change_is_audited_and_a_refused_one_writes_nothing(database: Database) -> None:
    settings = load_settings(
        database_url="sqlite://", confirm_keywords="oui, Y", brand_name="Boutique"
    )
    defaults = forms.form_defaults(settings)
    assert (defaults.confirm_word, defaults.brand) == ("OUI", "Boutique")
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    draft = FormDraft(list_id=list_id, slug="vip-club", title="VIP", language="fr")
    form = forms.create_form(database, EDITOR, draft, defaults)
    assert "répondez OUI pour confirmer" in form.confirmation_text
    target = f"form:{form.id}"

    with pytest.raises(InvalidInput):
        forms.create_form(database, EDITOR, draft, defaults)
    with pytest.raises(InvalidInput):
        forms.update_form(database, EDITOR, form.id, {"slug": "x"}, defaults)
    forms.update_form(database, EDITOR, form.id, {"title": "VIP"}, defaults)  # no change
    forms.update_form(database, EDITOR, form.id, {"disclosure": "New words."}, defaults)
    forms.archive_form(database, EDITOR, form.id)
    forms.restore_form(database, EDITOR, form.id)

    assert _trail(database) == [
        ("ed@example.com", "form.create", target, {"slug": "vip-club"}),
        (
            "ed@example.com",
            "form.update",
            target,
            {"changed": ["disclosure"], "disclosure_version": 2},
        ),
        ("ed@example.com", "form.archive", target, {"slug": "vip-club"}),
        ("ed@example.com", "form.restore", target, {"slug": "vip-club"}),
    ]
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(SignupForm)) == 1
