"""Sign-up forms as an operator manages them: every setting checked at once, the disclosure's
version, the figures, and an embed code that cannot be turned into markup."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from tests.factories import make_form

from textcast.db import Database
from textcast.domain.audience import lists
from textcast.domain.errors import Conflict, InvalidInput, NotFound
from textcast.domain.signups import embeds, forms
from textcast.domain.signups.form_texts import FormDefaults
from textcast.domain.signups.forms import FormDraft
from textcast.models import Signup, SignupChannel, SignupForm, SignupStatus, utcnow

DEFAULTS = FormDefaults(
    brand="Shop", help_contact="help@shop.example", confirm_word="Y", country="US"
)


def _list(database: Database, name: str = "VIP") -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def _create(database: Database, **values: Any) -> SignupForm:
    draft: dict[str, Any] = {"slug": "vip-club", "title": "Join VIP texts", **values}
    if "list_id" not in draft:
        draft["list_id"] = _list(database)
    with database.write() as session:
        return forms.create_form(session, FormDraft(**draft), DEFAULTS)


def _problems(raised: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {p.field: p.message for p in raised.value.problems}


def _update(database: Database, form_id: int, **changes: Any) -> forms.Updated:
    with database.write() as session:
        return forms.update_form(session, form_id, changes, DEFAULTS)


def test_a_new_form_gets_the_defaults_a_carrier_expects(database: Database) -> None:
    form = _create(database, terms_url="https://shop.example/terms")
    assert (form.name, form.disclosure_version, form.double_opt_in) == ("Join VIP texts", 1, True)
    assert form.allowed_countries == ["US"] and form.language == "en"
    for words in (
        "from Shop",
        "recurring automated marketing",
        "Consent is not a condition of purchase",
        "frequency varies",
        "Msg & data rates may apply",
        "HELP",
        "STOP",
        "help@shop.example",
        "Terms: https://shop.example/terms",
    ):
        assert words in form.disclosure, words
    assert "Privacy" not in form.disclosure
    assert "reply Y to confirm" in form.confirmation_text and "STOP" in form.confirmation_text
    assert form.welcome_text is not None and "STOP" in form.welcome_text


def test_a_french_form_gets_french_defaults(database: Database) -> None:
    form = _create(database, language="fr", privacy_url="https://shop.example/vie-privee")
    assert "Votre consentement n'est pas une condition d'achat" in form.disclosure
    assert "Confidentialité : https://shop.example/vie-privee" in form.disclosure
    assert "répondez Y pour confirmer" in form.confirmation_text
    assert form.welcome_text is not None and "bienvenue" in form.welcome_text


def test_an_empty_welcome_text_means_none(database: Database) -> None:
    assert _create(database, welcome_text="").welcome_text is None


def test_texts_have_their_limits(database: Database) -> None:
    list_id = _list(database)
    with pytest.raises(InvalidInput) as raised:
        _create(
            database,
            list_id=list_id,
            disclosure="d" * 2001,
            confirmation_text="c" * 919,
            thank_you_text="Thanks {{ first_name }}",
            redirect_url="javascript:alert(1)",
            fields=[{"name": "store", "label": "l" * 101}],
        )
    problems = _problems(raised)
    assert "2,001 characters where at most 2,000" in problems["disclosure"]
    assert "919 characters where at most 918" in problems["confirmation_text"]
    assert "plain text" in problems["thank_you_text"]
    assert "https://" in problems["redirect_url"]
    assert "101 characters where at most 100" in problems["fields[0].label"]
    text = "x" * 918
    form = _create(
        database, list_id=list_id, disclosure="d" * 2000, confirmation_text=text, welcome_text=text
    )
    assert (len(form.disclosure), form.confirmation_text, form.welcome_text) == (2000, text, text)


def test_every_problem_is_reported_at_once_naming_the_field(database: Database) -> None:
    with pytest.raises(InvalidInput) as raised:
        _create(
            database,
            list_id=999,
            slug="No Spaces!",
            title=" ",
            fields=[
                {"name": "first_name", "required": True},
                {"name": "first_name"},
                {"name": "phone", "required": True},
                {"name": "favourite store"},
                {"name": "x" * 65},
                {"name": "store", "colour": "red"},
                {"name": "email", "required": "yes"},
                {"name": "company_website"},
            ],
            disclosure="   ",
            allowed_countries=["US", "ZZ"],
            confirmation_text="Hi {{ first_name }}, reply Y",
            welcome_text="w" * 919,
            language="de",
            confirmations_per_hour=-1,
            allowed_origins=["ftp://shop.example", "shop.example"],
            redirect_url="https://elsewhere.example/thanks",
            terms_url="terms",
        )
    problems = _problems(raised)
    assert "no list has the id 999" in problems["list_id"]
    assert "lowercase letters, digits or hyphens" in problems["slug"]
    assert problems["title"] == "is required"
    assert "already a field" in problems["fields[1].name"]
    assert "the phone is always asked and always required" in problems["fields[2].name"]
    assert "letters, digits or underscores" in problems["fields[3].name"]
    assert "letters, digits or underscores" in problems["fields[4].name"]
    assert "unknown setting 'colour'" in problems["fields[5]"]
    assert problems["fields[6].required"] == "must be true or false"
    assert "a name the form uses itself" in problems["fields[7].name"]
    assert "is required" in problems["disclosure"]
    assert "not a country code" in problems["allowed_countries[1]"]
    assert "merge fields such as {{ first_name }}" in problems["confirmation_text"]
    assert "919 characters where at most 918" in problems["welcome_text"]
    assert "en (English) or fr (French)" in problems["language"]
    assert "from 0 (no cap)" in problems["confirmations_per_hour"]
    assert "https://" in problems["allowed_origins[0]"]
    assert "https://" in problems["allowed_origins[1]"]
    assert "add https://elsewhere.example to the allowed sites first" in problems["redirect_url"]
    assert "https://" in problems["terms_url"]
    with database.read() as session:
        assert forms.list_forms(session) == []


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("ab", False),
        ("abc", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("-abc", False),
        ("abc-", False),
        ("ABC", False),
        ("spring-sale-2026", True),
        ("été", False),
    ],
)
def test_slugs_are_short_lowercase_web_addresses(database: Database, slug: str, ok: bool) -> None:
    if ok:
        assert _create(database, slug=slug).slug == slug
        return
    with pytest.raises(InvalidInput) as raised:
        _create(database, slug=slug)
    assert list(_problems(raised)) == ["slug"]


def test_a_slug_is_used_by_one_form_only(database: Database) -> None:
    first = _create(database, name="Spring")
    with pytest.raises(InvalidInput) as raised:
        _create(database, list_id=first.list_id)
    assert _problems(raised) == {"slug": "is already used by the form 'Spring'"}
    assert _update(database, first.id, slug="vip-club").changed == []


def test_double_opt_in_needs_a_confirmation_text_single_keeps_the_default(
    database: Database,
) -> None:
    form = _create(database)
    with pytest.raises(InvalidInput) as raised:
        _update(database, form.id, confirmation_text="")
    assert "is required with double opt-in" in _problems(raised)["confirmation_text"]
    single = _update(database, form.id, double_opt_in=False, confirmation_text=None).form
    assert "reply Y to confirm" in single.confirmation_text


def test_fields_are_kept_with_their_labels_and_requirements(database: Database) -> None:
    form = _create(
        database,
        fields=[
            {"name": "first_name", "required": True},
            {"name": " email ", "label": "  Your email ", "required": False},
            {"name": "favourite_store", "label": "Favourite store"},
        ],
    )
    assert form.fields == [
        {"name": "first_name", "required": True},
        {"name": "email", "label": "Your email", "required": False},
        {"name": "favourite_store", "label": "Favourite store", "required": False},
    ]


def test_origins_are_normalised_and_redirects_stay_on_them(database: Database) -> None:
    form = _create(
        database,
        allowed_origins=[
            "HTTPS://Shop.Example:443/some/page?x=1",
            "https://shop.example",
            "http://localhost:8080/",
        ],
        redirect_url="https://shop.example/thanks",
    )
    assert form.allowed_origins == ["https://shop.example", "http://localhost:8080"]
    assert form.redirect_url == "https://shop.example/thanks"
    with pytest.raises(InvalidInput) as raised:
        _update(database, form.id, allowed_origins=["http://localhost:8080"])
    assert _problems(raised) == {
        "redirect_url": "goes to a site the form does not allow: add https://shop.example to "
        "the allowed sites first"
    }


def test_the_disclosure_version_goes_up_only_when_its_text_changes(database: Database) -> None:
    form = _create(database)
    same = _update(database, form.id, disclosure=form.disclosure, title="New title")
    assert (same.changed, same.form.disclosure_version) == (["title"], 1)
    changed = _update(database, form.id, disclosure="You agree to texts from Shop. STOP to end.")
    assert (changed.changed, changed.form.disclosure_version) == (["disclosure"], 2)
    again = _update(database, form.id, disclosure="You agree to texts from Shop. STOP to quit.")
    assert again.form.disclosure_version == 3
    assert _update(database, form.id, language="en").form.disclosure_version == 3


def test_an_update_changes_only_what_it_names(database: Database) -> None:
    form = _create(database, fields=[{"name": "first_name", "required": True}])
    updated = _update(database, form.id, welcome_text=None, confirmations_per_hour=0)
    assert updated.changed == ["welcome_text", "confirmations_per_hour"]
    assert updated.form.fields == [{"name": "first_name", "required": True}]
    with pytest.raises(InvalidInput) as raised:
        _update(database, form.id, views=10)
    assert "is not a setting of a form" in _problems(raised)["views"]


def test_archiving_hides_the_form_from_its_page_and_restoring_brings_it_back(
    database: Database,
) -> None:
    form = _create(database)
    with database.write() as session:
        forms.archive_form(session, form.id)
    with database.read() as session:
        assert forms.find_active_form(session, "vip-club") is None
        assert forms.get_form_by_reference(session, "vip-club").id == form.id
        assert forms.list_forms(session, include_archived=False) == []
    with pytest.raises(Conflict, match="already archived"), database.write() as session:
        forms.archive_form(session, form.id)
    with pytest.raises(Conflict, match="restore it"):
        _update(database, form.id, title="Changed")
    with database.write() as session:
        forms.restore_form(session, form.id)
    with database.read() as session:
        found = forms.find_active_form(session, "vip-club")
        assert found is not None and found.id == form.id
        assert forms.get_form_by_reference(session, str(form.id)).id == form.id
        with pytest.raises(NotFound):
            forms.get_form_by_reference(session, "nope")
        assert forms.find_active_form(session, "nope") is None


def test_the_figures_count_the_forms_sign_ups(database: Database) -> None:
    list_id = _list(database)
    form = make_form(database, list_id, views=40, blocked=3)
    other = make_form(database, list_id)
    quiet = make_form(database, list_id)
    statuses = [SignupStatus.CONFIRMED] * 10 + [
        SignupStatus.PENDING,
        SignupStatus.PENDING,
        SignupStatus.EXPIRED,
        SignupStatus.CANCELLED,
    ]
    with database.write() as session:
        for n, status in enumerate(statuses):
            session.add(_signup(form.id, list_id, n, status))
        session.add(_signup(other.id, list_id, 99, SignupStatus.CONFIRMED))
    with database.read() as session:
        stats = forms.form_stats(session, form)
        every = forms.stats_of_forms(session, [form, other, quiet])
    assert (stats.views, stats.submissions, stats.confirmed) == (40, 14, 10)
    assert (stats.pending, stats.expired, stats.cancelled, stats.blocked) == (2, 1, 1, 3)
    assert stats.conversion_rate == 0.25
    assert every[other.id].submissions == 1 and every[other.id].conversion_rate is None
    assert every[quiet.id] == forms.FormStats()


def _signup(form_id: int, list_id: int, n: int, status: SignupStatus) -> Signup:
    return Signup(
        channel=SignupChannel.FORM,
        status=status,
        phone=f"+1201555{n:04d}",
        list_id=list_id,
        form_id=form_id,
        double_opt_in=True,
        fields={},
        submitted_at=utcnow() - timedelta(minutes=n),
    )


def test_the_embed_code_posts_the_fields_the_disclosure_and_the_honeypot(
    database: Database,
) -> None:
    form = _create(
        database,
        fields=[
            {"name": "first_name", "required": True},
            {"name": "email"},
            {"name": "store", "label": "Favourite store"},
        ],
    )
    snippets = embeds.embed_snippets(form, "https://sms.shop.example/")
    url = "https://sms.shop.example/join/vip-club"
    assert snippets["url"] == url
    code = snippets["html"]
    assert f'<form method="post" action="{url}"' in code
    assert re.search(
        r'<input type="tel" id="[^"]+" name="phone" autocomplete="tel" required>', code
    )
    assert re.search(r'name="first_name" autocomplete="given-name" required>', code)
    assert re.search(r'<input type="email" id="[^"]+" name="email" autocomplete="email">', code)
    assert ">Favourite store</label>" in code and ">Mobile number</label>" in code
    assert html.escape(form.disclosure) in code
    assert '<input type="hidden" name="disclosure_version" value="1">' in code
    honeypot = re.search(
        r'<div style="position:absolute;left:-10000px[^>]*>(.*?)</div>', code, re.S
    )
    assert honeypot is not None
    assert 'name="company_website" value="" tabindex="-1" autocomplete="off"' in honeypot[1]
    assert '<button type="submit">Sign up</button>' in code
    assert "<script" not in code
    assert snippets["iframe"].startswith(f'<iframe src="{url}" title="Join VIP texts"')


def test_the_embed_code_escapes_everything_the_operator_typed(database: Database) -> None:
    form = _create(
        database,
        title='Join "us" <now>',
        language="fr",
        disclosure='<script>alert(1)</script> & "quotes"\nline two',
        fields=[{"name": "store", "label": '<b onmouseover="x">Store</b>'}],
    )
    snippets = embeds.embed_snippets(form, "https://sms.shop.example")
    code = snippets["html"]
    assert "<script>" not in code and "<b " not in code
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;<br>\nline two" in code
    assert "&lt;b onmouseover=&quot;x&quot;&gt;Store&lt;/b&gt;</label>" in code
    assert ">Numéro de mobile</label>" in code and ">S&#x27;inscrire</button>" in code
    assert 'title="Join &quot;us&quot; &lt;now&gt;"' in snippets["iframe"]
