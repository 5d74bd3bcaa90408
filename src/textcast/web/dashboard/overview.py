"""`/`: the overview: recent campaigns, the last 30 days' delivery rate, opt-outs and spend."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from textcast.domain.reporting import overview
from textcast.web.dashboard import charts
from textcast.web.dashboard.shell import PageUser, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
TICK_EVERY_DAYS = 7


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    with runtime.database.read() as session:
        summary = overview.summarize(session)
    return render(
        request,
        "overview.html",
        principal,
        summary=summary,
        delivery_chart=_delivery_chart(summary.days, summary.delivery_rate),
        currency=runtime.settings.price_currency,
        window_days=len(summary.days),
    )


def _delivery_chart(days: Sequence[overview.Day], rate: float | None) -> Markup:
    last = len(days) - 1
    columns = [
        charts.Column(
            label=day.day.isoformat(),
            value=day.delivery_rate,
            detail=f"{day.delivered:,} of {day.outcomes:,} delivered" if day.outcomes else "",
            # Counted back from today, so that today always has its label.
            tick=day.day.strftime("%m-%d") if (last - n) % TICK_EVERY_DAYS == 0 else None,
        )
        for n, day in enumerate(days)
    ]
    delivered, outcomes = sum(d.delivered for d in days), sum(d.outcomes for d in days)
    if rate is None:
        summary = f"No message reached a final outcome in the last {len(days)} days."
    else:
        summary = (
            f"Delivery rate per UTC day over the last {len(days)} days: "
            f"{rate:.1%} overall, {delivered:,} of {outcomes:,} final outcomes delivered; "
            f"{sum(1 for d in days if d.outcomes)} days with outcomes."
        )
    return charts.column_chart(
        "delivery-chart",
        "Delivery rate per day",
        columns,
        color=charts.GREEN,
        summary=summary,
        headers=("Day (UTC)", "Delivery rate", "Delivered of final outcomes"),
    )
