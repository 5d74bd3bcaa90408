"""What the command line draws in the terminal: live campaign progress and final counts
(`textcast demo`), a campaign's plan (`textcast campaigns plan`) and a contact's consent record
(`textcast contacts consent`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from textcast.wording import moment, money, money_amount

if TYPE_CHECKING:
    from textcast.domain.audience.consent_records import ConsentRecord, SignupEvidence
    from textcast.plan_presenter import PlanOut


@dataclass(frozen=True, slots=True)
class Snapshot:
    campaign_id: int
    status: str
    counts: dict[str, int]
    total: int
    final: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.final >= self.total


async def follow(
    console: Console, read: Callable[[], Awaitable[Snapshot]], every: float = 0.25
) -> Snapshot:
    """A progress bar of final messages, refreshed until every message is final."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("starting", total=None)
        while True:
            snapshot = await read()
            label = ", ".join(f"{status} {n:,}" for status, n in sorted(snapshot.counts.items()))
            progress.update(
                task,
                total=snapshot.total,
                completed=snapshot.final,
                description=f"campaign {snapshot.campaign_id} ({snapshot.status}): {label}",
            )
            if snapshot.done:
                return snapshot
            await asyncio.sleep(every)


def counts_table(snapshot: Snapshot, title: str) -> Table:
    table = Table(title=title)
    table.add_column("status")
    table.add_column("messages", justify="right")
    for status, n in sorted(snapshot.counts.items(), key=lambda item: -item[1]):
        table.add_row(status, f"{n:,}")
    table.add_row("[bold]total", f"[bold]{snapshot.total:,}")
    return table


def plan_view(plan: PlanOut) -> Group:
    """`textcast campaigns plan`: the totals, exclusions, costs, timing and a sample."""
    summary = Table.grid(padding=(0, 2))
    summary.add_row("audience", f"{plan.audience:,} distinct numbers")
    summary.add_row("recipients", f"[bold]{plan.recipients:,}")
    for reason, n in sorted(plan.excluded.items()):
        summary.add_row(f"  excluded: {reason}", f"{n:,}")
    if plan.hygiene:
        summary.add_row("list hygiene", plan.hygiene)
    encodings = ", ".join(f"{enc} {n:,}" for enc, n in sorted(plan.encodings.items()))
    summary.add_row("parts", f"{plan.parts:,} ({encodings or 'none'})")
    estimate = " (estimate: built-in prices)" if plan.cost_is_estimate else ""
    summary.add_row("cost", f"[bold]{money(plan.cost, plan.currency, fine=True)}[/]{estimate}")
    if plan.budget is not None:
        verdict = "[green]within" if plan.within_budget else "[red]over"
        summary.add_row("budget", f"{money(plan.budget, plan.currency)}: {verdict}")
    if plan.empty_audience:
        summary.add_row("send", "[red]refused: the audience is empty (see the warning)")
    summary.add_row("start", moment(plan.start_at))
    summary.add_row("finish (est.)", moment(plan.finish_at))
    countries = Table(title="cost by country")
    for column in ("country", "recipients", "parts", "cost"):
        countries.add_column(column, justify="left" if column == "country" else "right")
    for c in plan.by_country[:15]:
        cost = money_amount(c.cost, plan.currency, fine=True)
        countries.add_row(c.country, f"{c.recipients:,}", f"{c.parts:,}", cost)
    sample = Table(title="sample")
    for column in ("phone", "parts", "text"):
        sample.add_column(column)
    for one in plan.sample:
        sample.add_row(one.phone, str(one.parts), one.text)
    warnings = [f"[yellow]warning:[/] {w}" for w in [*plan.warnings, *plan.compliance]]
    if plan.variants is not None and plan.test_pool is not None:
        return Group(summary, countries, sample, _variants_plan(plan), *warnings)
    return Group(summary, countries, sample, *warnings)


def _variants_plan(plan: PlanOut) -> Table:
    """A draft A/B test: each variant's text, its share of the pool, and the rest if it wins."""
    pool = plan.test_pool
    assert pool is not None and plan.variants is not None
    table = Table(
        title=f"A/B test: a pool of {pool.pool:,} ({pool.pool_percent}% of {pool.audience:,}), "
        f"the rest {pool.rest:,}"
    )
    columns = ("variant", "chars", "encoding", "parts", "per recipient", "pool", "pool cost")
    for column in (*columns, "rest if it wins"):
        table.add_column(column, justify="left" if column in ("variant", "encoding") else "right")
    for v in plan.variants:
        label = v.label if v.send_time is None else f"{v.label} ({v.send_time} local)"
        table.add_row(
            label,
            f"{v.characters:,}",
            v.encoding,
            str(v.parts),
            money_amount(v.cost_each, plan.currency, fine=True),
            f"{v.pool:,}",
            money_amount(v.pool_cost, plan.currency, fine=True),
            money_amount(v.rest_cost, plan.currency, fine=True),
        )
    return table


def consent_record(record: ConsentRecord) -> None:
    """`textcast contacts consent`: where consent stands, the ledger, and each sign-up's
    evidence, on stdout."""
    out = Console()
    summary = Table.grid(padding=(0, 2))
    summary.add_row("contact", f"{record.contact_id} ({escape(record.phone)})")
    summary.add_row("marketing", record.marketing.replace("_", " "))
    summary.add_row("transactional", "given" if record.transactional else "not given")
    summary.add_row("pending sign-ups", str(record.pending_signups))
    out.print(summary)
    ledger = Table(title="consent ledger, oldest first")
    for column in ("when", "change", "purpose", "source", "evidence", "by"):
        ledger.add_column(column)
    for entry in record.ledger:
        said = " ".join(t for t in (entry.keyword, entry.evidence) if t)
        ledger.add_row(
            moment(entry.created_at),
            entry.kind.replace("_", "-"),
            entry.purpose,
            escape(entry.source),
            escape(said),
            escape(entry.by or ""),
        )
    out.print(ledger)
    for entry in record.ledger:
        if entry.signup is not None:
            out.print(_signup_evidence(entry.signup, f"evidence of event {entry.id}"))
    for signup in record.signups:
        out.print(_signup_evidence(signup, f"sign-up {signup.id}: {signup.status}, not consent"))


def _signup_evidence(signup: SignupEvidence, title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("")
    table.add_column("")
    where = signup.form_name and f"form {signup.form_name} ({signup.form_slug})"
    rows = (
        ("how", where or (signup.keyword and f"keyword {signup.keyword}") or signup.channel),
        ("disclosure", signup.disclosure),
        ("version", signup.disclosure_version),
        ("page", signup.page_url),
        ("referer", signup.referer),
        ("origin", signup.origin),
        ("address", signup.ip),
        ("user agent", signup.user_agent),
        ("language", signup.language),
        ("fields", ", ".join(f"{k}: {v}" for k, v in signup.fields.items())),
        ("submitted", moment(signup.submitted_at)),
        ("confirmed", signup.confirmed_at and moment(signup.confirmed_at)),
        ("by the reply", signup.confirmation_inbound_id),
        ("received", signup.confirmation_received_at and moment(signup.confirmation_received_at)),
        ("held", signup.held),
    )
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, escape(str(value)))
    return table
