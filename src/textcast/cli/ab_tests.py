"""`textcast campaigns ab-test ID`, `pick ID B`, `decide ID`, and what `campaigns create` reads of
an A/B test (`--variant`, `--send-time`, `--metric`...): a campaign's A/B test from the command
line. The commands are registered on `campaigns` by `cli/campaigns.py`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from textcast.cli.common import console, domain_errors, open_database
from textcast.domain.accounts.audit import CLI
from textcast.models import AbFallback, AbMetric, AbState
from textcast.wording import moment, plural

if TYPE_CHECKING:
    from textcast.db import Database
    from textcast.domain.experiments import AbResults, AbTestDraft

OPTIONS = {
    "variants": "--variant/--send-time",
    "test.pool_percent": "--test-pool",
    "test.metric": "--metric",
    "test.event": "--event",
    "test.window_hours": "--window",
    "test.decide_after": "--decide-after",
    "test.fallback": "--fallback",
    "test.min_sample": "--min-sample",
    "test.confidence": "--confidence",
    "test.seed": "--seed",
}
"""The API's field names of a test's problems, as `campaigns create` spells its options."""
_VARIANT_FIELD = re.compile(r"variants\[(\d+)\](?:\.(body|send_time))?")
FALLBACKS = {"variant-a": AbFallback.FIRST, "variant_a": AbFallback.FIRST, "wait": AbFallback.WAIT}

# `campaigns create`'s A/B test options; each None when not given (the defaults are named).
VariantOption = Annotated[
    list[str] | None,
    typer.Option(help="A/B test: a text to try (2-5 times; the first is A), not with --body."),
]
SendTimeOption = Annotated[
    list[str] | None,
    typer.Option(help="A/B test: an HH:MM send time to try (2-3 times), with --body."),
]
PoolOption = Annotated[
    int | None, typer.Option(help="A/B test: % of the audience tested (default: 20).")
]
MetricOption = Annotated[
    AbMetric | None, typer.Option(help="A/B test: what counts as a success (default: clicks).")
]
EventOption = Annotated[str | None, typer.Option(help="A/B test: the event of --metric event.")]
WindowOption = Annotated[
    str | None, typer.Option(help="A/B test: replies and events count this long (default: 24h).")
]
DecideAfterOption = Annotated[
    str | None,
    typer.Option(
        help="A/B test: choose the winner this long after the test texts are sent (4h, 90m, "
        "2d), or `manual` to pick it yourself (default: 4h)."
    ),
]
FallbackOption = Annotated[
    str | None,
    typer.Option(help="A/B test without a clear winner: variant-a or wait (default: variant-a)."),
]
MinSampleOption = Annotated[
    int | None, typer.Option(help="A/B test: texts sent per variant to win (default: 100).")
]
ConfidenceOption = Annotated[
    float | None, typer.Option(help="A/B test: a winner's chance of being best (default: 0.95).")
]
SeedOption = Annotated[str | None, typer.Option(help="A/B test: draws the test pool.")]


@dataclass(frozen=True, slots=True)
class AbTestOptions:
    """`campaigns create`'s A/B test options as typed; None: not given."""

    variants: list[str] | None = None
    send_times: list[str] | None = None
    pool: int | None = None
    metric: AbMetric | None = None
    event: str | None = None
    window: str | None = None
    decide_after: str | None = None
    fallback: str | None = None
    min_sample: int | None = None
    confidence: float | None = None
    seed: str | None = None


def read_options(options: AbTestOptions, body: str | None) -> tuple[str, AbTestDraft | None]:
    """The campaign's text and its test (None without `--variant` or `--send-time`)."""
    from textcast.ab_test_settings import (
        WINDOW_WORDS,
        AbTestSettings,
        VariantText,
        hours_of,
        read_test,
    )
    from textcast.domain.errors import FieldProblem, InvalidInput

    texts, times = options.variants or [], options.send_times or []
    given = [f.name for f in fields(options) if getattr(options, f.name) is not None]
    if not texts and not times:
        if given:
            option = "--" + given[0].replace("_", "-")
            _refuse(f"{option} sets up an A/B test: add --variant or --send-time")
        if body is None:
            _refuse("--body is required (or give the texts as --variant, the first being A)")
        return body, None
    if texts and body is not None:
        _refuse("give the texts as --variant only, not --body too: the first --variant is A")
    if times and body is None:
        _refuse("--send-time needs --body: the text sent at each time")
    problems: list[FieldProblem] = []
    window = 24
    if options.window is not None:
        try:
            window = hours_of(options.window)
        except ValueError:
            problems.append(FieldProblem("test.window_hours", WINDOW_WORDS, options.window))
    fallback = AbFallback.FIRST
    if options.fallback is not None:
        if options.fallback.lower() not in FALLBACKS:
            problems.append(FieldProblem("test.fallback", "must be variant-a or wait"))
        fallback = FALLBACKS.get(options.fallback.lower(), fallback)
    chosen = AbTestSettings(
        pool_percent=options.pool if options.pool is not None else 20,
        metric=options.metric or AbMetric.CLICKS,
        event=options.event,
        window_hours=window,
        decide_after=options.decide_after if options.decide_after is not None else "4h",
        fallback=fallback,
        min_sample=options.min_sample if options.min_sample is not None else 100,
        confidence=options.confidence if options.confidence is not None else 0.95,
        seed=options.seed,
    )
    variants = [VariantText(body=t) for t in texts] + [VariantText(send_time=t) for t in times]
    try:
        draft = read_test(variants, chosen)
    except InvalidInput as exc:
        raise InvalidInput(problems + exc.problems) from None
    if problems:
        raise InvalidInput(problems)
    return (body if body is not None else texts[0]), draft


@contextlib.contextmanager
def option_errors() -> Iterator[None]:
    """A test's problems named by the options that set them (`--decide-after`, the 2nd
    `--variant`), then ended as `domain_errors` ends any other."""
    from textcast.domain.errors import FieldProblem, InvalidInput

    with domain_errors():
        try:
            yield
        except InvalidInput as exc:
            named = [FieldProblem(_option(p.field), p.message, p.value) for p in exc.problems]
            raise InvalidInput(named, unlisted=exc.unlisted) from None


def _option(field: str) -> str:
    found = _VARIANT_FIELD.fullmatch(field)
    if found is None:
        return OPTIONS.get(field, field)
    option = "--send-time" if found[2] == "send_time" else "--variant"
    return f"{option} #{int(found[1]) + 1}"


def _refuse(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def show_test(campaign_id: int) -> None:
    """`campaigns ab-test ID`: the variants side by side, and where the decision stands."""
    from textcast.services import campaigns as use_cases

    _, database = open_database()
    with domain_errors():
        found = use_cases.ab_results(database, campaign_id)
    if found is None:
        console.print(f"[bold red]error:[/] campaign {campaign_id} has no A/B test")
        raise typer.Exit(1)
    Console().print(render_test(campaign_id, found))


def render_test(campaign_id: int, found: AbResults) -> Group:
    test = found.test
    table = Table(title=f"Campaign {campaign_id}: A/B test of the {found.metric_words}")
    table.add_column("variant")
    table.add_column(
        "text" if any(v.body for v in found.variants) else "send time", overflow="fold"
    )
    labels = (found.trials_label, found.successes_label, "rate (95% interval)", "chance best")
    for column in labels:
        table.add_column(column, justify="right")
    for v in found.variants:
        mark = " [green](winner)" if v.label == test.winner else ""
        rate = "-" if v.rate is None else f"{v.rate:.1%} ({v.low or 0:.1%} to {v.high or 0:.1%})"
        best = v.chance or "-"
        table.add_row(
            f"{v.label}{mark}",
            escape(v.body or v.send_time or ""),
            f"{v.sent:,}",
            f"{v.successes:,}",
            rate,
            best,
        )
    facts = Table.grid(padding=(0, 2))
    facts.add_row("state", str(test.state))
    when = "picked by hand"
    if test.decide_after_minutes is not None:
        from textcast.ab_test_settings import spell_minutes

        when = f"{spell_minutes(test.decide_after_minutes)} after the test texts are sent"
    facts.add_row("decision", f"{when}; without a clear winner: {_fallback_words(test.fallback)}")
    needed = plural(test.min_sample, "text")
    facts.add_row("pool", f"{test.pool_percent}% of the audience; {needed} per variant needed")
    if test.decide_at is not None and test.state == AbState.TESTING:
        facts.add_row("decides at", moment(test.decide_at))
    if test.winner is not None:
        facts.add_row("winner", f"variant {test.winner}, by {test.decided_by}")
    if test.rest_id is not None:
        rest = f"campaign {test.rest_id}, {plural(found.rest_recipients, 'recipient')}"
        if found.rest_estimated_cost is not None:
            rest += f", estimated at {found.rest_estimated_cost:.2f}"
        facts.add_row("the rest", f"{rest} ({found.rest_status})")
    if test.rest_error:
        facts.add_row("[red]not sent yet", escape(test.rest_error))
    return Group(table, facts, f"[bold]{escape(found.summary)}")


def mention_test(database: Database, campaign_id: int, out: Console) -> None:
    """`campaigns status`: a line on the campaign's A/B test, if it has one."""
    from textcast.services import campaigns as use_cases

    found = use_cases.ab_results(database, campaign_id)
    if found is not None:
        out.print(
            f"A/B test ({found.test.state}): {escape(found.summary)} "
            f"See: textcast campaigns ab-test {campaign_id}"
        )


def _fallback_words(fallback: AbFallback) -> str:
    return "variant A is sent" if fallback == AbFallback.FIRST else "it waits for your pick"


def campaigns_pick(
    campaign_id: int,
    variant: str = typer.Argument(help="The winner: A, B..."),
) -> None:
    """Pick the winner of an A/B test yourself: the rest of the audience gets it now."""
    _decide(campaign_id, variant.upper())


def campaigns_decide(campaign_id: int) -> None:
    """Decide an A/B test now by its figures; without a clear winner, its fallback applies."""
    _decide(campaign_id, None)


def _decide(campaign_id: int, variant: str | None) -> None:
    from textcast.runtime import sending_policy
    from textcast.services import campaigns as use_cases

    settings, database = open_database()
    with domain_errors():
        test = use_cases.pick_winner(database, CLI, campaign_id, sending_policy(settings), variant)
    if test.state != AbState.DECIDED:
        summary = (test.decision or {}).get("reason", "")
        console.print(f"campaign {campaign_id}: no winner yet, {test.state}. {summary}")
        return
    if test.rest_error:
        console.print(
            f"campaign {campaign_id}: variant {test.winner} won, but the rest is not sent yet: "
            f"{test.rest_error} (tried again by the worker)"
        )
        return
    console.print(
        f"campaign {campaign_id}: variant {test.winner} won; the rest (campaign {test.rest_id}) "
        "is queued for a running worker"
    )
