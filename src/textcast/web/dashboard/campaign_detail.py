"""/campaigns (list) and /campaigns/{id} (live progress, charts, controls).

The detail page polls `GET /api/v1/campaigns/{id}` for its progress and swaps in
`/campaigns/{id}/live` (the charts and tables) when the counts move (static/campaign.js).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from textcast.domain import campaigns
from textcast.domain.reporting import analytics, overview
from textcast.models import Campaign, CampaignKind, CampaignStatus, MessageStatus, utcnow
from textcast.runtime import describe_delivery_code
from textcast.web.api.ids import MAX_ID
from textcast.web.dashboard import charts
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# When each control applies, as `campaigns` rules it; the page's script shows and hides the
# buttons with the same lists as the status changes.
PAUSE_WHEN = campaigns.PAUSABLE
RESUME_WHEN = (CampaignStatus.PAUSED,)
CANCEL_WHEN = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
    CampaignStatus.FAILED,
)
CANCEL_WHILE_WITH_SINCH = (CampaignStatus.COMPLETED,)
"""A completed campaign can still be cancelled while Sinch holds some of its messages."""
SETTLED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.FAILED)
"""Nothing more will be sent: the page stops polling once every message is final too."""
DELIVERED = (MessageStatus.DELIVERED,)
SKIPPED = (MessageStatus.SKIPPED,)


@dataclass(frozen=True, slots=True)
class Count:
    """One figure of the progress, kept live by the page's script from the API's counts."""

    key: str
    label: str
    statuses: Sequence[MessageStatus]
    value: int

    @property
    def statuses_attribute(self) -> str:
        return " ".join(self.statuses)


@dataclass(frozen=True, slots=True)
class Control:
    key: str
    label: str
    action: str
    when: Sequence[CampaignStatus]
    while_with_sinch: Sequence[CampaignStatus]
    shown: bool
    confirm: str | None = None
    style: str = "secondary"

    @property
    def when_attribute(self) -> str:
        return " ".join(self.when)

    @property
    def while_with_sinch_attribute(self) -> str:
        return " ".join(self.while_with_sinch)


@dataclass(frozen=True, slots=True)
class Live:
    """What `campaign_live.html` shows: the analytics, its charts, skip reasons explained."""

    result: analytics.Analytics
    funnel_chart: Markup
    timeline_chart: Markup
    skipped: list[tuple[str, str, int]]
    """Reason, its meaning, messages."""


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    every_kind: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    kinds = tuple(CampaignKind) if every_kind else (CampaignKind.MARKETING,)
    with runtime.database.read() as session:
        rows = overview.campaign_rows(session, before_id=before, limit=PAGE_SIZE, kinds=kinds)
    older = rows[-1].campaign.id if len(rows) == PAGE_SIZE else None
    return render(
        request,
        "campaigns.html",
        principal,
        rows=rows,
        older=older,
        every_kind=every_kind,
        paged=before is not None,
    )


@router.get("/campaigns/{campaign_id:int}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    currency = runtime.settings.price_currency
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        if campaign.status == CampaignStatus.DRAFT:
            audience = overview.draft_audience(session, campaign)
            return render(
                request,
                "campaign.html",
                principal,
                campaign=campaign,
                audience=audience,
                currency=currency,
                editable=campaigns.editable(campaign, utcnow()),
            )
        live = _live(analytics.campaign_analytics(session, campaign_id, describe_delivery_code))
    funnel = live.result.funnel
    final = funnel.total - funnel.queued - funnel.in_flight
    return render(
        request,
        "campaign.html",
        principal,
        campaign=campaign,
        live=live,
        currency=currency,
        final=final,
        counts=_counts(funnel),
        controls=_controls(campaign, funnel.in_flight),
        editable=campaigns.editable(campaign, utcnow()),
        settled=" ".join(SETTLED),
        polling=not (campaign.status in SETTLED and final == funnel.total),
    )


@router.get("/campaigns/{campaign_id:int}/live", response_class=HTMLResponse)
def campaign_live(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    """The charts and tables of the detail page alone, for its script to swap in."""
    with runtime.database.read() as session:
        # Raises NotFound (the not-found page) for a campaign that is not there.
        live = _live(
            analytics.campaign_analytics(
                session, page_id(campaign_id, "campaign"), describe_delivery_code
            )
        )
    currency = runtime.settings.price_currency
    return render(request, "campaign_live.html", principal, live=live, currency=currency)


def _counts(funnel: analytics.Funnel) -> list[Count]:
    def count(key: str, label: str, statuses: Sequence[MessageStatus]) -> Count:
        return Count(key, label, statuses, sum(funnel.by_status.get(s, 0) for s in statuses))

    return [
        count("waiting", "Waiting to send", analytics.WAITING),
        count("in-flight", "With Sinch", analytics.IN_FLIGHT),
        count("delivered", "Delivered", DELIVERED),
        count("undelivered", "Not delivered", analytics.UNDELIVERED),
        count("skipped", "Skipped", SKIPPED),
    ]


def _controls(campaign: Campaign, in_flight: int) -> list[Control]:
    status = campaign.status

    def control(
        key: str,
        label: str,
        when: Sequence[CampaignStatus],
        while_with_sinch: Sequence[CampaignStatus] = (),
        **options: str,
    ) -> Control:
        shown = status in when or (status in while_with_sinch and in_flight > 0)
        action = f"POST /api/v1/campaigns/{campaign.id}/{key}"
        return Control(key, label, action, when, while_with_sinch, shown, **options)

    return [
        control("pause", "Pause", PAUSE_WHEN),
        control("resume", "Resume", RESUME_WHEN),
        control(
            "cancel",
            "Cancel campaign",
            CANCEL_WHEN,
            CANCEL_WHILE_WITH_SINCH,
            confirm="Cancel this campaign? Messages not sent yet will never be sent.",
            style="danger",
        ),
    ]


def _live(result: analytics.Analytics) -> Live:
    return Live(
        result=result,
        funnel_chart=_funnel_chart(result.funnel),
        timeline_chart=_timeline_chart(result.timeline),
        skipped=[(r, overview.describe_skip(r), n) for r, n in result.skipped.items()],
    )


def _funnel_chart(funnel: analytics.Funnel) -> Markup:
    """Messages split into skipped, waiting, refused and sent; sent into its outcomes."""
    undelivered = sum(funnel.by_status.get(s, 0) for s in analytics.UNDELIVERED)
    bars = [
        charts.Bar("Messages", funnel.total, charts.INK),
        charts.Bar("Skipped", funnel.skipped, charts.AMBER),
        charts.Bar("Waiting to send", funnel.queued, charts.GREY),
        *([charts.Bar("Refused", funnel.refused, charts.RED)] if funnel.refused else []),
        charts.Bar("Sent", funnel.sent, charts.BLUE),
        charts.Bar("With Sinch", funnel.in_flight, charts.PURPLE),
        charts.Bar("Delivered", funnel.delivered, charts.GREEN),
        charts.Bar("Not delivered", undelivered - funnel.refused, charts.RED),
    ]
    return charts.bar_chart("funnel-chart", "Delivery funnel", bars, total=funnel.total)


def _timeline_chart(timeline: Sequence[analytics.Minute]) -> Markup:
    points = [(m.at, (m.sent, m.delivered, m.undelivered)) for m in timeline]
    axis = charts.time_buckets(points, 3)
    sent, delivered, undelivered = axis.totals
    lines = [
        charts.Line("Sent", charts.BLUE, sent),
        charts.Line("Delivered", charts.GREEN, delivered, "7 4"),
        charts.Line("Not delivered", charts.RED, undelivered, "2 3"),
    ]
    if axis.labels:
        per = "minute" if axis.minutes == 1 else f"{axis.minutes} minutes"
        summary = (
            f"Messages per {per}, {axis.labels[0]} to {axis.labels[-1]} UTC: "
            f"{sum(sent):,} sent, {sum(delivered):,} delivered, "
            f"{sum(undelivered):,} not delivered."
        )
    else:
        summary = "Nothing sent yet."
    return charts.line_chart(
        "timeline-chart",
        "Sent and settled over time",
        axis.labels,
        lines,
        summary=summary,
        x_header="From (UTC)",
    )
