"""`textcast segments list` and `show`: each segment's rules in words and its size now."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain.audience import contacts, segments
from textcast.domain.audience.contacts import ContactDraft
from textcast.models import Segment

runner = CliRunner()


def test_segments_list_and_show_read_the_rules_in_words(database_url: str) -> None:
    database = Database(database_url)
    with database.write() as session:
        for phone in ("+33612345678", "+33612345679", "+12015550100"):
            contacts.create_contact(session, ContactDraft(phone), "US", source="cli", secret=b"k")
        france = segments.create_segment(
            session,
            "France",
            {
                "match": "all",
                "conditions": [
                    {"field": "status", "op": "eq", "value": "subscribed"},
                    {"field": "country", "op": "in", "value": ["FR", "CA"]},
                ],
            },
        )
        broken = Segment(name="Old", rules={"conditions": [{"field": "x", "op": "eq"}]})
        session.add(broken)
        session.flush()
        france_id, broken_id = france.id, broken.id
    database.dispose()
    env = {"DATABASE_URL": database_url, "COLUMNS": "200"}

    listed = runner.invoke(app, ["segments", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "Subscribed contacts in France or Canada" in listed.output
    assert "cannot be used until its rules are fixed" in listed.output

    as_json = runner.invoke(app, ["segments", "list", "--json"], env=env)
    by_name = {s["name"]: s for s in json.loads(as_json.output)}
    assert by_name["France"]["description"] == "Subscribed contacts in France or Canada"
    assert (by_name["France"]["contacts"], by_name["France"]["subscribed"]) == (2, 2)
    assert by_name["Old"]["valid"] is False and by_name["Old"]["contacts"] is None
    assert by_name["Old"]["problems"][0].startswith("rules.conditions[0].field: must be")

    shown = runner.invoke(app, ["segments", "show", str(france_id)], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"segment {france_id}: France" in shown.output
    assert "Subscribed contacts in France or Canada" in shown.output
    assert "2 contacts match now, 2 of them subscribed" in shown.output

    refused = runner.invoke(app, ["segments", "show", str(broken_id)], env=env)
    assert refused.exit_code == 1
    assert "rules.conditions[0].field" in refused.output
    missing = runner.invoke(app, ["segments", "show", "999"], env=env)
    assert missing.exit_code == 1 and "segment 999" in missing.output
