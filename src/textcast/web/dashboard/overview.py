"""`/`: the overview: a new installation's first steps, recent campaigns, the last 30 days'
delivery rate, opt-outs and spend; for admins, the webhooks textcast disabled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from textcast.config import Settings
from textcast.domain.accounts.permissions import Permission
from textcast.domain.reporting import overview
from textcast.domain.webhooks import subscriptions
from textcast.web.dashboard import charts
from textcast.web.dashboard.shell import PageUser, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
TICK_EVERY_DAYS = 7


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the first-run checklist."""

    key: str
    label: str
    done: bool
    text: str
    """What it takes, or what was done."""
    href: str
    link: str
    settled: bool | None = None
    """Whether it keeps the checklist shown; `done` unless said (the simulator is a choice)."""

    @property
    def keeps_list(self) -> bool:
        return not (self.done if self.settled is None else self.settled)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    with runtime.database.read() as session:
        summary = overview.summarize(session, runtime.policy.prices)
        steps = first_steps(overview.first_steps(session), runtime.settings)
        # Its owner is told here: an admin (they alone manage webhooks) opens this page first.
        failing = (
            subscriptions.disabled_by_textcast(session) if principal.can(Permission.ADMIN) else []
        )
    return render(
        request,
        "overview.html",
        principal,
        summary=summary,
        steps=steps if any(step.keeps_list for step in steps) else [],
        delivery_chart=_delivery_chart(summary.days, summary.delivery_rate),
        currency=runtime.settings.price_currency,
        window_days=len(summary.days),
        disabled_webhooks=failing,
    )


def first_steps(done: overview.FirstSteps, settings: Settings) -> list[Step]:
    """Connect Sinch, import contacts, send a test, send a campaign: each with a link to do it.

    With the built-in simulator, connecting Sinch is not done, but it does not keep the list
    shown: trying textcast out without Sinch is a choice, and every page's banner says so.
    """
    if settings.uses_simulator:
        sinch = Step(
            "sinch",
            "Connect Sinch",
            False,
            "The built-in simulator stands in for Sinch: no text reaches a phone. Set "
            "SINCH_SERVICE_PLAN_ID and SINCH_API_TOKEN to send for real.",
            "/settings#sinch",
            "How to connect",
            settled=True,
        )
    else:
        sinch = Step(
            "sinch",
            "Connect Sinch",
            True,
            "Sinch's credentials are set: texts go to real phones.",
            "/settings#sinch",
            "Check the connection",
        )
    test_href = f"/campaigns/{done.draft_id}/plan#test-form" if done.draft_id else "/campaigns/new"
    return [
        sinch,
        Step(
            "contacts",
            "Import contacts",
            done.contacts,
            "Contacts are in." if done.contacts else "Upload a CSV file of numbers and names.",
            "/contacts/import",
            "Import contacts",
        ),
        Step(
            "test",
            "Send a test",
            done.tested,
            "A test was sent."
            if done.tested
            else "Write a campaign; its plan sends a test to one number before the real send.",
            test_href,
            "Send a test",
        ),
        Step(
            "campaign",
            "Send a campaign",
            done.launched,
            "A campaign went out."
            if done.launched
            else "Launch a campaign from its plan, now or at a time you choose.",
            "/campaigns/new",
            "Write a campaign",
        ),
    ]


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
