"""A body as one contact would receive it, before any campaign is saved: the editor's preview.

Without a contact it renders for a sample one (Alex Morgan) with a value for every merge field
the body uses, so the preview reads like a real message. It renders through `outgoing`, as launch
and the plan do, so smart encoding and short links shape the preview exactly as they shape what
is sent.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from textcast.domain.audience import contacts
from textcast.domain.campaigns.drafts import known_fields
from textcast.domain.campaigns.planning import LINK_CODE_LENGTH
from textcast.domain.content import encoding, templates
from textcast.domain.content.rendering import Outgoing, link_keys, outgoing
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import Contact

SAMPLE_CONTACT: dict[str, str] = {
    "first_name": "Alex",
    "last_name": "Morgan",
    "phone": "+14155550100",
    "country": "US",
}
"""The sample recipient's built-in fields; any other field (an attribute) gets SAMPLE_VALUE."""
SAMPLE_VALUE = "sample value"


@dataclass(frozen=True, slots=True)
class Preview:
    text: str
    """What the contact receives; a missing field shows as nothing."""
    encoding: encoding.Encoding
    length: int
    """Septets (GSM-7) or UTF-16 units (UCS-2)."""
    parts: int
    fields: tuple[str, ...]
    """The merge fields the body uses, in order."""
    missing: tuple[str, ...]
    """Fields with neither a value for this contact nor a default: the contact would be
    skipped (`missing_merge_field`). Without a contact: the fields that have no default."""
    contact: Contact | None
    sample: dict[str, str] | None = None
    """Without a contact: the sample's values of the fields the body uses."""


def preview(
    session: Session,
    body: str,
    *,
    contact_id: int | None = None,
    smart_encoding: bool = False,
    short_link_base: str | None = None,
) -> Preview:
    """Raises `InvalidInput` for a malformed or unknown merge field, `NotFound` for the contact."""
    template = _checked_template(session, body)
    contact = contacts.get_contact(session, contact_id) if contact_id is not None else None
    short_links = bool(short_link_base)
    out = outgoing(body, smart_encoding, short_links)
    # Fields without a value render as their default or, lacking one, as nothing (as the
    # campaign's own encoding and parts are counted). A raw value of "" can only come from
    # that fallback, as templates take a blank value for no value.
    lenient = _with_empty_defaults(out)
    data = _data_of(contact)
    links = _placeholder_links(out, short_link_base)
    raw = lenient.template.values_for({**data, **(links or {})})
    values = lenient.values_for(data, links)
    assert raw is not None and values is not None  # every field has a default now
    missing = tuple(f.name for f in out.template.fields if f.default is None and raw[f.key] == "")
    sample = None
    if contact is None:
        sample = {f.name: SAMPLE_CONTACT.get(f.name, SAMPLE_VALUE) for f in template.fields}
        values = lenient.values_for(sample, links)
        assert values is not None
    text = lenient.render(values)
    info = encoding.segment(text)
    return Preview(
        text=text,
        encoding=info.encoding,
        length=info.length,
        parts=info.parts,
        fields=tuple(f.name for f in template.fields),
        missing=missing,
        contact=contact,
        sample=sample,
    )


def _checked_template(session: Session, body: str) -> templates.Template:
    try:
        template = templates.parse(body)
    except templates.TemplateError as exc:
        raise InvalidInput(exc.problems) from exc
    if template.is_static:
        return template
    known = known_fields(session)
    unknown = [f for f in template.fields if f.name not in known]
    problems = templates.unknown_fields(template, known)
    if problems:
        raise InvalidInput(
            [
                FieldProblem(
                    p.field, f"at character {_position(body, f.name)}: {p.message}", f.name
                )
                for f, p in zip(unknown, problems, strict=True)
            ]
        )
    return template


def _position(body: str, name: str) -> int:
    """Where the field first appears, counted from 1 as for malformed fields."""
    found = re.search(r"\{\{\s*" + re.escape(name) + r"\b", body)
    return found.start() + 1 if found else 1


def _data_of(contact: Contact | None) -> dict[str, Any]:
    """The merge data of one contact, as the plan reads it (built-in fields over attributes)."""
    if contact is None:
        return {}
    return {
        **(contact.attributes or {}),
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "country": contact.country,
    }


def _with_empty_defaults(out: Outgoing) -> Outgoing:
    pieces = tuple(
        dataclasses.replace(piece, default="")
        if isinstance(piece, templates.Field) and piece.default is None
        else piece
        for piece in out.template.pieces
    )
    return dataclasses.replace(out, template=dataclasses.replace(out.template, pieces=pieces))


def _placeholder_links(out: Outgoing, base: str | None) -> dict[str, str] | None:
    """A short link of the length launch makes, so parts are counted right."""
    if not out.urls:
        return None
    link = f"{(base or '').rstrip('/')}/l/{'x' * LINK_CODE_LENGTH}"
    return dict.fromkeys(link_keys(out), link)
