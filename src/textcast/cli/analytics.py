"""`textcast campaigns status`: a campaign's analytics as terminal tables, with the figures
and the words the dashboard uses (`reporting.figures`, `vocabulary.SKIP_REASON_WORDS`); an A/B
test's campaign's with its variants and its rest side by side."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from textcast.domain.reporting.analytics import Analytics
from textcast.domain.reporting.variants import REST, VariantFigures
from textcast.vocabulary import describe_skip


def render_status(analytics: Analytics) -> RenderableType:
    """Funnel, failure codes, skip reasons and a summary; failures and skips only when any."""
    campaign = analytics.campaign
    title = f"Campaign {campaign.id} ({campaign.status})"
    if campaign.status_reason:
        title += f": {campaign.status_reason}"
    parts: list[RenderableType] = [Text(title, style="bold"), _funnel(analytics)]
    if analytics.waiting:
        parts.append(Text("Waiting:", style="bold"))
        parts.extend(Text(f"  {wait.text}") for wait in analytics.waiting)
    if analytics.failures:
        parts.append(_failures(analytics))
    if analytics.skipped:
        reasons = {f"{describe_skip(code)} ({code})": n for code, n in analytics.skipped.items()}
        parts.append(_counts("Skipped", "reason", reasons))
    parts.append(_summary(analytics))
    if analytics.variants:
        parts.append(_variants(analytics.variants))
    return Group(*parts)


def _funnel(analytics: Analytics) -> Table:
    funnel = analytics.funnel
    table = Table()
    table.add_column("status")
    table.add_column("messages", justify="right")
    rows = [
        ("queued", funnel.queued),
        ("in flight", funnel.in_flight),
        ("sent", funnel.sent),
        ("[green]delivered", funnel.delivered),
        ("[red]failed", funnel.failed),
        ("[red]expired", funnel.expired),
        ("[red]rejected", funnel.rejected),
        ("[red]aborted", funnel.aborted),
        ("[red]cancelled", funnel.cancelled),
        ("[red]deleted", funnel.deleted),
        ("[yellow]unknown", funnel.unknown),
        ("[yellow]skipped", funnel.skipped),
    ]
    for label, n in rows:
        if n or label in ("queued", "sent", "[green]delivered"):
            table.add_row(label, f"{n:,}")
    table.add_row("[bold]total", f"[bold]{funnel.total:,}")
    return table


def _failures(analytics: Analytics) -> Table:
    table = Table(title="Undelivered, by Sinch code")
    table.add_column("status")
    table.add_column("code", justify="right")
    table.add_column("meaning")
    table.add_column("messages", justify="right")
    for failure in analytics.failures:
        code = "-" if failure.code is None else str(failure.code)
        meaning = f"{failure.name}: {failure.description}"
        table.add_row(failure.status, code, meaning, f"{failure.messages:,}")
    return table


def _variants(variants: list[VariantFigures]) -> Table:
    """An A/B test's parts side by side; their figures add up to the campaign's above."""
    table = Table(title="A/B test: variants and the rest")
    table.add_column("variant")
    table.add_column("campaign", justify="right")
    table.add_column("status")
    for name in ("recipients", "sent", "delivered", "clicks", "replies", "opt-outs"):
        table.add_column(name, justify="right")
    for part in variants:
        label = part.label
        if part.label == REST and part.sends:
            label += f" ({part.sends})"
        table.add_row(
            label,
            str(part.campaign_id),
            part.status,
            f"{part.recipients:,}",
            f"{part.sent:,}",
            f"{part.delivered:,}" + _rate(part.delivery_rate),
            f"{part.clicks:,}" + _rate(part.click_rate),
            f"{part.replies:,}" + _rate(part.reply_rate),
            f"{part.opt_outs:,}",
        )
    return table


def _rate(rate: float | None) -> str:
    return "" if rate is None else f" ({rate:.1%})"


def _counts(title: str, what: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column(what)
    table.add_column("messages", justify="right")
    for key, n in counts.items():
        table.add_row(key, f"{n:,}")
    return table


def _summary(analytics: Analytics) -> Table:
    rate = analytics.delivery_rate
    replies, cost, clicks = analytics.replies, analytics.cost, analytics.clicks
    keywords = ", ".join(f"{k} {n:,}" for k, n in replies.keywords.items())
    table = Table(show_header=False, title="Outcome")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("delivery rate", "-" if rate is None else f"{rate:.1%}")
    table.add_row("opt-outs", f"{replies.opt_outs:,}")
    table.add_row(
        "replies", f"{replies.replies:,}" + (f" (keywords: {keywords})" if keywords else "")
    )
    table.add_row("parts", f"{cost.parts_sent:,} sent of {cost.parts_planned:,} planned")
    estimate = "-" if cost.estimated is None else f"{cost.estimated:,.2f}"
    spent = f"{cost.spent:,.2f} spent, {estimate} estimated"
    if cost.budget is not None:
        spent += f", budget {cost.budget:,.2f} ({cost.committed:,.2f} committed)"
    table.add_row("cost", spent)
    if clicks.links:
        table.add_row(
            "clicks",
            f"{clicks.clicks:,} unique on {clicks.clicked_links:,} of {clicks.links:,} links",
        )
    return table
