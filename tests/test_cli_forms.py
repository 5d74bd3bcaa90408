"""`textcast forms create|list|show|archive|restore`: a form made from options, listed with its
figures, shown with its embed code, and each setting at fault named by its option."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from textcast.cli import app
from textcast.cli.forms import parse_field
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.audience import lists

runner = CliRunner()


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "COLUMNS": "250",
        "BRAND_NAME": "Shop",
        "BASE_URL": "https://sms.shop.example",
    }


def _vip_list(database_url: str) -> int:
    database = Database(database_url)
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    database.dispose()
    return list_id


def test_fields_are_read_as_name_label_and_required() -> None:
    assert parse_field("first_name") == {"name": "first_name", "required": False}
    assert parse_field("email:required") == {"name": "email", "required": True}
    assert parse_field("store:Favourite store") == {
        "name": "store",
        "label": "Favourite store",
        "required": False,
    }
    assert parse_field("store:Store: city:required") == {
        "name": "store",
        "label": "Store: city",
        "required": True,
    }


def test_create_list_show_archive_and_restore_a_form(database_url: str) -> None:
    _vip_list(database_url)
    env = _env(database_url)
    created = runner.invoke(
        app,
        [
            "forms", "create", "--list", "VIP", "--slug", "vip-club", "--title", "Join VIP",
            "--single-opt-in", "--country", "US", "--country", "ca",
            "--field", "first_name", "--field", "email:required",
            "--field", "store:Favourite store",
            "--origin", "https://shop.example/", "--redirect", "https://shop.example/thanks",
            "--language", "fr", "--welcome", "",
        ],
        env=env,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "page: https://sms.shop.example/join/vip-club" in created.output
    assert '<form method="post" action="https://sms.shop.example/join/vip-club"' in created.output
    assert (
        "list: VIP" in created.output
        and "single opt-in" in created.output
        and "countries: US, CA" in created.output
    )
    assert 'store "Favourite store"' in created.output and "email (required)" in created.output
    assert "welcome text: none" in created.output
    assert "Votre consentement n'est pas une condition d'achat" in created.output

    listed = runner.invoke(app, ["forms", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "vip-club" in listed.output and "https://sms.shop.example/join/vip-club" in listed.output

    shown = runner.invoke(app, ["forms", "show", "vip-club", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    form = json.loads(shown.output)
    assert form["allowed_origins"] == ["https://shop.example"]
    assert form["fields"][1] == {"name": "email", "label": None, "required": True}
    assert form["double_opt_in"] is False and form["stats"]["conversion_rate"] is None
    by_id = runner.invoke(app, ["forms", "show", str(form["id"])], env=env)
    assert by_id.exit_code == 0 and "embed (iframe):" in by_id.output

    archived = runner.invoke(app, ["forms", "archive", "vip-club"], env=env)
    assert archived.exit_code == 0 and "archived" in archived.output
    assert "vip-club" not in runner.invoke(app, ["forms", "list"], env=env).output
    listed_all = runner.invoke(app, ["forms", "list", "--archived", "--json"], env=env)
    assert [f["archived"] for f in json.loads(listed_all.output)] == [True]
    twice = runner.invoke(app, ["forms", "archive", "vip-club"], env=env)
    assert twice.exit_code == 1 and "already archived" in twice.output
    restored = runner.invoke(app, ["forms", "restore", "vip-club"], env=env)
    assert restored.exit_code == 0, restored.output

    database = Database(database_url)
    with database.read() as session:
        actions = [(e.actor, e.action) for e in reversed(audit.entries(session))]
    database.dispose()
    assert actions == [
        ("cli", "form.create"),
        ("cli", "form.archive"),
        ("cli", "form.restore"),
    ]


def test_bad_options_are_named_by_their_option(database_url: str) -> None:
    _vip_list(database_url)
    env = _env(database_url)
    refused = runner.invoke(
        app,
        [
            "forms", "create", "--list", "VIP", "--slug", "Bad Slug", "--title", "T",
            "--country", "ZZ", "--field", "phone", "--redirect", "https://elsewhere.example/",
            "--confirmation", "Hi {{ first_name }}",
        ],
        env=env,
    )  # fmt: skip
    assert refused.exit_code == 1
    for words in (
        "--slug: must be 3 to 64 lowercase letters",
        "--country[0]: is not a country code",
        "--field[0].name: the phone is always asked",
        "--redirect: goes to a site the form does not allow: add https://elsewhere.example",
        "--confirmation: must be plain text",
    ):
        assert words in " ".join(refused.output.split()), words
    missing = runner.invoke(
        app, ["forms", "create", "--list", "Nope", "--slug", "abc", "--title", "T"], env=env
    )
    assert missing.exit_code == 1 and "no list is named or numbered 'Nope'" in missing.output
    unknown = runner.invoke(app, ["forms", "show", "nope"], env=env)
    assert unknown.exit_code == 1 and "form nope not found" in unknown.output
