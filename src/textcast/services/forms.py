"""Sign-up forms' use cases: create, change, archive and restore a form, each in one
transaction with its audit entry (`form.create`, `form.update`, `form.archive`,
`form.restore`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textcast.config import Settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.signups import forms
from textcast.domain.signups.form_texts import FormDefaults
from textcast.domain.signups.forms import FormDraft
from textcast.models import SignupForm


def form_defaults(settings: Settings) -> FormDefaults:
    """What a form's default texts are made of, from the settings in effect."""
    words = [w.strip().upper() for w in settings.confirm_keywords.split(",") if w.strip()]
    return FormDefaults(
        brand=settings.brand_name,
        help_contact=settings.help_contact,
        confirm_word=words[0] if words else "Y",
        country=settings.default_region.upper(),
    )


def create_form(
    database: Database, actor: Actor, draft: FormDraft, defaults: FormDefaults
) -> SignupForm:
    with database.write() as session:
        form = forms.create_form(session, draft, defaults)
        audit.record(session, actor, "form.create", f"form:{form.id}", slug=form.slug)
    return form


def update_form(
    database: Database,
    actor: Actor,
    form_id: int,
    changes: Mapping[str, Any],
    defaults: FormDefaults,
) -> SignupForm:
    """Only the settings in `changes`; audited when any changed (with the new disclosure
    version when its text did)."""
    with database.write() as session:
        updated = forms.update_form(session, form_id, changes, defaults)
        if updated.changed:
            detail: dict[str, Any] = {"changed": updated.changed}
            if "disclosure" in updated.changed:
                detail["disclosure_version"] = updated.form.disclosure_version
            audit.record(session, actor, "form.update", f"form:{form_id}", **detail)
    return updated.form


def archive_form(database: Database, actor: Actor, form_id: int) -> SignupForm:
    with database.write() as session:
        form = forms.archive_form(session, form_id)
        audit.record(session, actor, "form.archive", f"form:{form_id}", slug=form.slug)
    return form


def restore_form(database: Database, actor: Actor, form_id: int) -> SignupForm:
    with database.write() as session:
        form = forms.restore_form(session, form_id)
        audit.record(session, actor, "form.restore", f"form:{form_id}", slug=form.slug)
    return form
