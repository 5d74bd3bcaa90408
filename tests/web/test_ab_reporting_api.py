"""An A/B test's campaign over HTTP and on the command line: its analytics with the variants
side by side, its export with each message's variant, and a draft test's plan per variant,
whose pool the send then draws."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.factories import authorize, numbers
from typer.testing import CliRunner

from textcast.cli import app
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.models import AbMetric, Campaign, Message, MessageStatus
from textcast.plan_presenter import PlanOut
from textcast.web.app import create_app
from textcast.web.dashboard.shell import templates

SHORT = "Spring sale: 20% off today. Reply STOP to opt out."
LONG = "Spring sale! " + "Everything in the shop is 20% off until Sunday night. " * 3 + "STOP?"
runner = CliRunner()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url,
        sinch_webhook_secret=None,
        default_region="US",
        prices={"US": 0.01},
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def make_draft(database: Database, audience: int = 100) -> int:
    draft = campaigns.CampaignDraft(name="Spring", body=SHORT, recipients=numbers(audience))
    test = experiments.AbTestDraft(bodies=(SHORT, LONG), metric=AbMetric.DELIVERY)
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, test)
    return campaign.id


def parts_of(database: Database, campaign_id: int) -> dict[str | None, Campaign]:
    with database.read() as session:
        found = session.scalars(select(Campaign).where(Campaign.parent_id == campaign_id))
        return {c.variant: c for c in found}


def test_the_plan_of_a_draft_test_gives_each_variant_and_the_send_draws_its_pool(
    client: TestClient, database: Database
) -> None:
    campaign_id = make_draft(database)

    planned = client.post(f"/api/v1/campaigns/{campaign_id}/plan")

    assert planned.status_code == 200, planned.text
    body = planned.json()
    assert body["test_pool"] == {
        "compares": "text",
        "pool_percent": 20,
        "audience": 100,
        "pool": 20,
        "rest": 80,
        "cost_at_most": pytest.approx(10 * 0.01 + 10 * 0.02 + 80 * 0.02),
    }
    a, b = body["variants"]
    assert (a["label"], a["parts"], a["encoding"], a["pool"]) == ("A", 1, "GSM-7", 10)
    assert (b["label"], b["parts"], b["characters"], b["pool"]) == ("B", 2, len(LONG), 10)
    assert (a["cost_each"], b["cost_each"]) == (0.01, 0.02)
    assert (a["rest_cost"], b["rest_cost"]) == (pytest.approx(0.8), pytest.approx(1.6))
    assert body["recipients"] == 100  # the campaign's own figures: variant A to everyone

    sent = client.post(f"/api/v1/campaigns/{campaign_id}/send")

    assert sent.status_code in (200, 201, 202), sent.text
    parts = parts_of(database, campaign_id)
    assert [parts[v].recipient_count for v in "AB"] == [a["pool"], b["pool"]]
    assert parts[None].recipient_count == body["test_pool"]["rest"]


def test_an_ordinary_plan_has_no_variants(client: TestClient, database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Plain", body=SHORT, recipients=numbers(3))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
    body = client.post(f"/api/v1/campaigns/{campaign.id}/plan").json()
    assert (body["variants"], body["test_pool"], body["recipients"]) == (None, None, 3)


def test_a_sent_tests_analytics_and_export_show_its_variants(
    client: TestClient, database: Database
) -> None:
    campaign_id = make_draft(database)
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send").status_code < 300
    parts = parts_of(database, campaign_id)
    with database.write() as session:
        session.execute(
            update(Message)
            .where(Message.campaign_id == parts["B"].id)
            .values(status=MessageStatus.DELIVERED)
        )

    answer = client.get(f"/api/v1/campaigns/{campaign_id}/analytics")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["funnel"]["total"] == 20 and body["funnel"]["delivered"] == 10
    side_by_side = [
        (v["label"], v["sends"], v["status"], v["recipients"], v["sent"], v["delivered"])
        for v in body["variants"]
    ]
    assert side_by_side == [
        ("A", "A", "sending", 10, 0, 0),
        ("B", "B", "sending", 10, 10, 10),
        ("rest", None, "draft", 80, 0, 0),
    ]
    assert body["variants"][1]["delivery_rate"] == 1.0

    exported = client.get(f"/api/v1/campaigns/{campaign_id}/export.csv")

    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 20
    assert sorted(r["variant"] for r in rows) == ["A"] * 10 + ["B"] * 10
    delivered = {r["variant"] for r in rows if r["status"] == "delivered"}
    assert delivered == {"B"}


def test_the_plan_page_part_shows_each_variant_side_by_side(database: Database) -> None:
    """The plan page's block for a draft test (`plan_variants.html`), given its test plan."""
    campaign_id = make_draft(database)
    settings = load_settings(database_url=database.url, prices={"US": 0.01})
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as running:
        policy = running.app.state.runtime.policy  # type: ignore[attr-defined]
        with database.read() as session:
            campaign = campaigns.get_campaign(session, campaign_id)
            plan = campaigns.plan(session, campaign, policy, campaign.created_at)
            test_plan = experiments.plan_test(session, campaign, policy, campaign.created_at)
    html = templates.env.get_template("plan_variants.html").render(plan=plan, test_plan=test_plan)
    assert 'id="plan-variants"' in html
    assert "A test pool of 20 recipients (20% of 100)" in html
    assert "the rest, 80 recipients, gets the winner" in html
    rows = html.split('<tr data-variant="')[1:]
    assert [row[0] for row in rows] == ["A", "B"]
    assert "0.01" in rows[0] and "0.02" in rows[1]
    assert '<td class="num">2</td>' in rows[1] and '<td class="num">1</td>' in rows[0]


def test_the_command_line_shows_the_variants_in_the_plan_and_the_status(
    database_url: str, database: Database
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "PRICES": '{"US": 0.01}',
        "SECRET_KEY": "k" * 32,
        "COLUMNS": "200",
    }
    campaign_id = make_draft(database)

    plan = runner.invoke(app, ["campaigns", "plan", str(campaign_id)], env=env)
    as_json = runner.invoke(app, ["campaigns", "plan", str(campaign_id), "--json"], env=env)

    assert plan.exit_code == 0, plan.output
    assert "A/B test: a pool of 20 (20% of 100), the rest 80" in plan.output
    assert PlanOut.model_validate_json(as_json.output).variants is not None
    assert runner.invoke(app, ["campaigns", "send", str(campaign_id)], env=env).exit_code == 0

    status = runner.invoke(app, ["campaigns", "status", str(campaign_id)], env=env)

    assert status.exit_code == 0, status.output
    assert "A/B test: variants and the rest" in status.output
    lines = [line for line in status.output.splitlines() if line.startswith("│ ")]
    variants = [
        line.split("│")[1].strip() for line in lines if "sending" in line or "draft" in line
    ]
    assert variants == ["A", "B", "rest"]
