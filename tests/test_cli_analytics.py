from datetime import UTC, datetime

from rich.console import Console

from textcast.cli.analytics import render_status
from textcast.domain.reporting.analytics import (
    Analytics,
    Bucket,
    Clicks,
    Cost,
    FailureCode,
    Funnel,
    Replies,
)
from textcast.domain.reporting.figures import Figures
from textcast.domain.reporting.waiting import Wait
from textcast.models import Campaign, CampaignStatus


def _analytics(**changes: object) -> Analytics:
    funnel = Funnel(
        total=10,
        queued=1,
        in_flight=1,
        sent=7,
        delivered=5,
        failed=1,
        refused=0,
        expired=0,
        rejected=0,
        aborted=1,
        cancelled=0,
        deleted=0,
        unknown=0,
        skipped=2,
        by_status={},
    )
    figures = Figures(
        messages=10,
        skipped=2,
        waiting=1,
        refused=0,
        sent=7,
        with_sinch=1,
        delivered=5,
        not_delivered=1,
        parts_planned=9,
        parts_sent=7,
        spent=0.35,
    )
    values: dict[str, object] = {
        "campaign": Campaign(
            id=7, name="Spring", status=CampaignStatus.PAUSED, status_reason="budget"
        ),
        "funnel": funnel,
        "failures": [
            FailureCode("aborted", 405, "Unmatched parameter", "No value for a parameter", 1),
            FailureCode("failed", 34, "Operator error 34", "From the SMSC", 1),
        ],
        "skipped": {"opted_out": 2},
        "delivery_rate": 5 / 7,
        "replies": Replies(opt_outs=1, keywords={"help": 2}, replies=3),
        "figures": figures,
        "waiting": [Wait("budget", 1, "1 message waiting: the campaign paused at its budget.")],
        "cost": Cost(
            estimated=1.5, budget=2.0, spent=0.35, parts_planned=9, parts_sent=7, committed=0.4
        ),
        "timeline": [Bucket(datetime(2026, 5, 1, 10, tzinfo=UTC), 7, 5, 2)],
        "timeline_bucket_seconds": 60,
        "clicks": Clicks(links=8, clicked_links=3, clicks=4, requests=9),
    }
    return Analytics(**(values | changes))  # type: ignore[arg-type]


def _text(analytics: Analytics) -> str:
    console = Console(record=True, width=140)
    console.print(render_status(analytics))
    return console.export_text()


def test_status_shows_funnel_failures_skips_and_outcome() -> None:
    text = _text(_analytics())
    assert "Campaign 7 (paused): budget" in text
    for expected in [
        "delivered",
        "405",
        "Unmatched parameter: No value for a parameter",
        "Opted out of your messages (opted_out)",
        "1 message waiting: the campaign paused at its budget.",
        "71.4%",
        "3 (keywords: help 2)",
        "7 sent of 9 planned",
        "0.35 spent, 1.50 estimated, budget 2.00 (0.40 committed)",
        "4 unique on 3 of 8 links",
    ]:
        assert expected in text


def test_status_leaves_out_what_did_not_happen() -> None:
    text = _text(
        _analytics(
            failures=[], skipped={}, waiting=[], delivery_rate=None, clicks=Clicks(0, 0, 0, 0)
        )
    )
    assert "Undelivered" not in text and "Skipped" not in text and "clicks" not in text
    assert "Waiting" not in text
    assert "│ delivery rate │ -" in text
