"""The code that puts a sign-up form on another site: a plain HTML `<form>` posting to the
hosted page (no script, nothing loaded from elsewhere, a honeypot for bots), or the hosted
page in an `<iframe>`. Everything the operator typed is escaped."""

from __future__ import annotations

import html

from textcast.domain.signups.form_texts import HONEYPOT, LABELS, label_of
from textcast.models import SignupForm

INPUT_TYPES = {"email": "email", "birthday": "date"}
AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "birthday": "bday",
}


def hosted_url(form: SignupForm, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/join/{form.slug}"


def embed_snippets(form: SignupForm, public_url: str) -> dict[str, str]:
    """`url`: the hosted page; `html`: a plain `<form>` posting to it (no script, nothing
    loaded from elsewhere); `iframe`: the hosted page in a frame. Everything escaped."""
    url = hosted_url(form, public_url)
    language = form.language if form.language in LABELS else "en"
    words = LABELS[language]
    esc = _escape
    prefix = f"tc-{form.slug}"
    lines = [
        f'<form method="post" action="{esc(url)}" accept-charset="utf-8" '
        f'class="textcast-signup" lang="{esc(language)}">',
        _input_html(prefix, "phone", words["phone"], "tel", "tel", required=True),
    ]
    for spec in form.fields or []:
        name = str(spec.get("name", ""))
        lines.append(
            _input_html(
                prefix,
                name,
                label_of(spec, language),
                INPUT_TYPES.get(name, "text"),
                AUTOCOMPLETE.get(name),
                required=bool(spec.get("required")),
            )
        )
    disclosure = esc(form.disclosure).replace("\n", "<br>\n")
    lines += [
        f'  <p class="textcast-disclosure">{disclosure}</p>',
        f'  <input type="hidden" name="disclosure_version" value="{int(form.disclosure_version)}">',
        '  <div style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;'
        'overflow:hidden" aria-hidden="true">',
        f'    <label for="{esc(prefix)}-{HONEYPOT}">{esc(words[HONEYPOT])}</label>',
        f'    <input type="text" id="{esc(prefix)}-{HONEYPOT}" name="{HONEYPOT}" value="" '
        'tabindex="-1" autocomplete="off">',
        "  </div>",
        f'  <button type="submit">{esc(words["submit"])}</button>',
        "</form>",
    ]
    iframe = (
        f'<iframe src="{esc(url)}" title="{esc(form.title)}" width="100%" height="640" '
        'style="border:0;max-width:480px" loading="lazy"></iframe>'
    )
    return {"url": url, "html": "\n".join(lines), "iframe": iframe}


def _input_html(
    prefix: str,
    name: str,
    label: str,
    kind: str,
    autocomplete: str | None,
    *,
    required: bool,
) -> str:
    esc = _escape
    ident = f"{prefix}-{name}"
    attributes = [
        f'type="{kind}"',
        f'id="{esc(ident)}"',
        f'name="{esc(name)}"',
        *([f'autocomplete="{autocomplete}"'] if autocomplete else []),
        *(["required"] if required else []),
    ]
    return (
        f'  <p><label for="{esc(ident)}">{esc(label)}</label><br>\n'
        f"  <input {' '.join(attributes)}></p>"
    )


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)
