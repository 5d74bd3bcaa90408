"""`textcast campaigns …`: create, list, change, delete, plan, send and follow campaigns from
the command line."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from textcast.cli import ab_tests
from textcast.cli.common import console, domain_errors, open_database
from textcast.domain.accounts.audit import CLI
from textcast.models import CampaignStatus

campaigns_app = typer.Typer(help="Create, send and follow campaigns.", no_args_is_help=True)

TIME_FORMATS = ["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]
CLEARABLE = {
    "sender": "sender",
    "send-at": "send_at",
    "local-time": "local_send_time",
    "expires-at": "expires_at",
    "budget": "budget",
}
"""`campaigns edit --clear NAME`: the options a change may empty, by their option's name."""


def _read_numbers(path: Path) -> list[str]:
    """One number per line; blank lines and `#` comments are skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@campaigns_app.command("create")
def campaigns_create(
    name: Annotated[str, typer.Option(help="Campaign name.")],
    body: Annotated[
        str | None,
        typer.Option(
            help='Message text; merge fields as {{ first_name | default("there") }}. '
            "Not with --variant (the texts are the variants then)."
        ),
    ] = None,
    recipients: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="File with one phone number per line."),
    ] = None,
    list_ids: Annotated[
        list[int] | None, typer.Option("--list", help="A list id (repeatable).")
    ] = None,
    segment_ids: Annotated[
        list[int] | None, typer.Option("--segment", help="A segment id (repeatable).")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Sender; SINCH_NUMBER by default.")] = None,
    smart_encoding: Annotated[
        bool, typer.Option(help="Replace curly quotes, dashes... by GSM-7 characters.")
    ] = False,
    send_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"],
            help="Start at, with its offset: 2026-12-01T10:00+01:00.",
        ),
    ] = None,
    local_time: Annotated[
        str | None, typer.Option(help="HH:MM in each recipient's own time zone.")
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"],
            help="Skip what quiet hours still hold then.",
        ),
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Spending cap.")] = None,
    variant: ab_tests.VariantOption = None,
    send_time: ab_tests.SendTimeOption = None,
    test_pool: ab_tests.PoolOption = None,
    metric: ab_tests.MetricOption = None,
    event: ab_tests.EventOption = None,
    window: ab_tests.WindowOption = None,
    decide_after: ab_tests.DecideAfterOption = None,
    fallback: ab_tests.FallbackOption = None,
    min_sample: ab_tests.MinSampleOption = None,
    confidence: ab_tests.ConfidenceOption = None,
    seed: ab_tests.SeedOption = None,
    send: Annotated[bool, typer.Option(help="Send it right away.")] = False,
) -> None:
    """Create a campaign for numbers, lists and segments (and optionally send it).

    An A/B test: 2-5 --variant texts (then no --body), or --body and 2-3 --send-time; part of
    the audience (--test-pool) gets the variants, and the winner goes to the rest."""
    from textcast.domain import campaigns
    from textcast.runtime import sending_policy
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    options = ab_tests.AbTestOptions(
        variant, send_time, test_pool, metric, event, window, decide_after, fallback,
        min_sample, confidence, seed
    )  # fmt: skip
    with ab_tests.option_errors():
        text, test = ab_tests.read_options(options, body)
    draft = campaigns.CampaignDraft(
        name,
        text,
        _read_numbers(recipients) if recipients else [],
        sender or settings.sinch_number,
        list_ids=list_ids or [],
        segment_ids=segment_ids or [],
        smart_encoding=smart_encoding,
        send_at=send_at,
        local_send_time=local_time,
        expires_at=expires_at,
        budget=budget,
    )
    with ab_tests.option_errors():
        if send:
            campaign = use_cases.create_and_launch(
                database, CLI, draft, settings.default_region, sending_policy(settings), test
            )
        else:
            campaign = use_cases.create(database, CLI, draft, settings.default_region, test)
    state = campaign.status if send else "draft"
    tested = f", an A/B test of {len(test.bodies or test.send_times)} variants" if test else ""
    console.print(
        f"campaign {campaign.id}: {campaign.recipient_count:,} recipients, {state}{tested}"
    )


@campaigns_app.command("list")
def campaigns_list(
    status: Annotated[
        CampaignStatus | None, typer.Option(help="Only campaigns in this status.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Part of the name, in any case.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Campaigns, newest first."""
    from rich.table import Table

    from textcast.cli import listing
    from textcast.domain import campaigns

    _, database = open_database()
    with database.read() as session:
        rows = campaigns.list_campaigns(session, limit=limit, status=status, search=search)
    if as_json:
        listing.print_json(listing.campaign(c) for c in rows)
        return
    table = Table("id", "name", "status", "recipients", "created (UTC)")
    for c in rows:
        table.add_row(
            str(c.id), c.name, c.status, f"{c.recipient_count:,}", f"{c.created_at:%Y-%m-%d %H:%M}"
        )
    Console().print(table)


@campaigns_app.command("edit")
def campaigns_edit(
    campaign_id: int,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    body: Annotated[str | None, typer.Option(help="New message text.")] = None,
    recipients: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="File of phone numbers replacing the current ones."
        ),
    ] = None,
    list_ids: Annotated[
        list[int] | None, typer.Option("--list", help="A list id (repeatable): replaces the lists.")
    ] = None,
    segment_ids: Annotated[
        list[int] | None,
        typer.Option("--segment", help="A segment id (repeatable): replaces the segments."),
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Sender.")] = None,
    smart_encoding: Annotated[
        bool | None,
        typer.Option(
            "--smart-encoding/--no-smart-encoding", help="Replace characters GSM-7 lacks."
        ),
    ] = None,
    send_at: Annotated[
        datetime | None,
        typer.Option(
            formats=TIME_FORMATS, help="Start at, with its offset: 2026-12-01T10:00+01:00."
        ),
    ] = None,
    local_time: Annotated[
        str | None, typer.Option(help="HH:MM in each recipient's own time zone.")
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(formats=TIME_FORMATS, help="Skip what quiet hours still hold then."),
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Spending cap.")] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help=f"Empty an option (repeatable): {', '.join(CLEARABLE)}."),
    ] = None,
) -> None:
    """Change a draft, or a scheduled campaign before its start (it becomes a draft again)."""
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    unknown = [option for option in clear or [] if option not in CLEARABLE]
    if unknown:
        console.print(
            f"[bold red]error:[/] --clear takes {', '.join(CLEARABLE)}, not {', '.join(unknown)}"
        )
        raise typer.Exit(2)
    given: dict[str, object] = {
        "name": name,
        "body": body,
        "recipients": _read_numbers(recipients) if recipients else None,
        "list_ids": list_ids,
        "segment_ids": segment_ids,
        "sender": sender,
        "smart_encoding": smart_encoding,
        "send_at": send_at,
        "local_send_time": local_time,
        "expires_at": expires_at,
        "budget": budget,
    }
    changes = {field: value for field, value in given.items() if value is not None}
    for option in clear or []:
        changes[CLEARABLE[option]] = None
    if "sender" in changes and changes["sender"] is None:
        changes["sender"] = settings.sinch_number
    if not changes:
        console.print("[bold red]error:[/] nothing to change: give an option (see --help)")
        raise typer.Exit(2)
    with domain_errors():
        edited = use_cases.edit(database, CLI, campaign_id, changes, settings.default_region)
    what = ", ".join(edited.changed) or "nothing"
    again = "; it is a draft again: plan and send it anew" if edited.unscheduled else ""
    console.print(f"campaign {campaign_id}: changed {what}{again}")


@campaigns_app.command("delete")
def campaigns_delete(
    campaign_id: int,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Delete a draft, or a scheduled campaign before its start, with its messages."""
    from textcast.services import campaigns as use_cases

    if not yes:
        console.print("[bold red]error:[/] deleting cannot be undone; add --yes to confirm")
        raise typer.Exit(2)
    _, database = open_database()
    with domain_errors():
        deleted = use_cases.delete(database, CLI, campaign_id)
    unsent = f", and its {deleted.messages:,} unsent messages" if deleted.messages else ""
    console.print(f"campaign {campaign_id} ({deleted.status}) deleted{unsent}")


@campaigns_app.command("send")
def campaigns_send(campaign_id: int) -> None:
    """Queue every message of a draft; a running dispatcher picks them up."""
    from textcast.runtime import sending_policy
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    # A personalised audience is rendered, counted and priced recipient by recipient.
    with domain_errors(), console.status("writing one message per recipient..."):
        campaign = use_cases.launch(database, CLI, campaign_id, sending_policy(settings))
    when = f" for {campaign.send_at:%Y-%m-%d %H:%M %Z}" if campaign.status == "scheduled" else ""
    console.print(f"campaign {campaign.id}: {campaign.recipient_count:,} messages queued{when}")


@campaigns_app.command("plan")
def campaigns_plan(
    campaign_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON instead.")] = False,
) -> None:
    """Who gets what, in how many parts, at what cost, finishing when (nothing is sent)."""
    from textcast.cli.render import plan_view
    from textcast.plan_presenter import plan_out
    from textcast.runtime import sending_policy
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    with domain_errors(), console.status("evaluating the audience..."):
        result, test = use_cases.plan_with_variants(database, campaign_id, sending_policy(settings))
    out = plan_out(campaign_id, result, test)
    if as_json:
        print(out.model_dump_json(indent=2))
        return
    console.print(plan_view(out))


@campaigns_app.command("pause")
def campaigns_pause(campaign_id: int) -> None:
    """Hand nothing more to Sinch until resumed."""
    from textcast.services import campaigns as use_cases

    _, database = open_database()
    with domain_errors():
        campaign = use_cases.pause(database, CLI, campaign_id)
    console.print(f"campaign {campaign.id}: {campaign.status}")


@campaigns_app.command("resume")
def campaigns_resume(campaign_id: int) -> None:
    """Go on sending a paused campaign (after raising its budget, if that paused it)."""
    from textcast.services import campaigns as use_cases

    _, database = open_database()
    with domain_errors():
        campaign = use_cases.resume(database, CLI, campaign_id)
    console.print(f"campaign {campaign.id}: {campaign.status}")


@campaigns_app.command("cancel")
def campaigns_cancel(campaign_id: int) -> None:
    """Skip what is not sent yet and cancel Sinch batches still queued there."""
    from textcast.runtime import Runtime
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    with domain_errors():
        campaign, provider_ids = use_cases.cancel(database, CLI, campaign_id)
    cancelled = asyncio.run(Runtime(settings, database).cancel_provider_batches(provider_ids))
    console.print(
        f"campaign {campaign.id}: cancelled; {cancelled} of {len(provider_ids)} Sinch "
        "batch(es) cancelled there"
    )


@campaigns_app.command("duplicate")
def campaigns_duplicate(campaign_id: int) -> None:
    """A new draft with the same body, audience and options."""
    from textcast.services import campaigns as use_cases

    _, database = open_database()
    with domain_errors():
        copy = use_cases.duplicate(database, CLI, campaign_id)
    console.print(f"campaign {copy.id}: draft copy of {campaign_id}")


@campaigns_app.command("test")
def campaigns_test(campaign_id: int, phone: str) -> None:
    """Send the campaign's text to one number now (a running dispatcher sends it)."""
    from textcast.runtime import sending_policy
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    with domain_errors():
        test = use_cases.send_test(
            database, CLI, campaign_id, phone, settings.default_region, sending_policy(settings)
        )
    console.print(f"test campaign {test.id} queued for {phone}")


@campaigns_app.command("ab-test")
def campaigns_ab_test(campaign_id: int) -> None:
    """Show the campaign's A/B test: each variant's texts sent, successes, rate and chance of
    being the best, and the decision."""
    ab_tests.show_test(campaign_id)


@campaigns_app.command("status")
def campaigns_status(
    campaign_id: int,
    watch: Annotated[bool, typer.Option(help="Follow live until every message is final.")] = False,
) -> None:
    """The funnel, failures by Sinch code, skips by reason, delivery rate, replies, cost."""
    import time

    from rich.live import Live

    from textcast.cli.analytics import render_status
    from textcast.domain.reporting import analytics
    from textcast.domain.reporting.analytics import Analytics
    from textcast.runtime import describe_delivery_code, sending_policy

    settings, database = open_database()
    policy = sending_policy(settings)

    def read() -> tuple[Analytics, bool]:
        with database.read() as session:
            figures = analytics.campaign_analytics(
                session, campaign_id, describe_delivery_code, policy
            )
        counted = figures.figures
        done = counted.messages > 0 and counted.final >= counted.messages
        return figures, done

    out = Console()
    with domain_errors():
        figures, done = read()
        if not watch:
            out.print(render_status(figures))
            ab_tests.mention_test(database, campaign_id, out)
            return
        with Live(render_status(figures), console=out, refresh_per_second=4) as live:
            while not done:
                time.sleep(1.0)  # each read aggregates the whole campaign
                figures, done = read()
                live.update(render_status(figures))


# The A/B test's own commands (`campaigns ab-test ID` shows a test).
campaigns_app.command("pick")(ab_tests.campaigns_pick)
campaigns_app.command("decide")(ab_tests.campaigns_decide)
