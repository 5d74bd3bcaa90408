"""An A/B test's campaign in parts, side by side: each variant's share of the test pool and
the rest of the audience, each counted as the whole is counted (`analytics`), so the parts add
up to the campaign's figures; and the label each part's messages carry in the export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain.experiments.variants import ab_test_of
from textcast.domain.inbox.keywords import Keyword
from textcast.domain.reporting.figures import (
    OUTCOMES,
    TAKEN,
    UNDELIVERED,
    delivery_rate,
)
from textcast.models import Campaign, InboundMessage, Link, Message, MessageStatus

REST = "rest"
"""The label of an A/B test's rest of the audience, beside its variants' labels."""


@dataclass(frozen=True, slots=True)
class VariantFigures:
    """One part of an A/B test's campaign: a variant's share of the test pool, or the rest.
    The parts' figures add up to the campaign's."""

    label: str
    """`A`..`E`, or `rest`."""
    campaign_id: int
    """The campaign under the test that sends it."""
    sends: str | None
    """The variant whose text (or send time) it sends: its own label, the winner's for the
    rest, None for a rest not decided yet."""
    status: str
    recipients: int
    sent: int
    delivered: int
    outcomes: int
    """Messages with a final outcome, refused ones included (as `Figures.outcomes`)."""
    clicks: int
    """Unique clicks, as `Clicks.clicks` counts them."""
    replies: int
    """Plain replies, as `Replies.replies` counts them."""
    opt_outs: int

    @property
    def delivery_rate(self) -> float | None:
        return delivery_rate(self.delivered, self.outcomes)

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.sent if self.sent else None

    @property
    def reply_rate(self) -> float | None:
        return self.replies / self.sent if self.sent else None


def variant_figures(
    session: Session, campaign_id: int, family: Sequence[int]
) -> list[VariantFigures]:
    """The family's parts side by side, each counted as the whole is (a grouped statement per
    kind of figure, along the same indexes)."""
    children = list(
        session.scalars(select(Campaign).where(Campaign.id.in_(family), Campaign.id != campaign_id))
    )
    test = ab_test_of(session, campaign_id)
    rest_id = test.rest_id if test is not None else None
    ids = [c.id for c in children]
    # Per campaign: sent, delivered, final outcomes, as `figures` defines them.
    taken: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    refused = Message.status_code.is_(None)
    for cid, status, no_code, n in session.execute(
        select(Message.campaign_id, Message.status, refused, func.count())
        .where(Message.campaign_id.in_(ids), Message.status.in_(TAKEN))
        .group_by(Message.campaign_id, Message.status, refused)
    ):
        if status in OUTCOMES:
            taken[cid][2] += int(n)
        if status in UNDELIVERED and no_code:
            continue  # refused at submission: never sent
        taken[cid][0] += int(n)
        if status == MessageStatus.DELIVERED:
            taken[cid][1] += int(n)
    clicks = dict(
        session.execute(
            select(Link.campaign_id, func.coalesce(func.sum(Link.unique_clicks), 0))
            .where(Link.campaign_id.in_(ids))
            .group_by(Link.campaign_id)
        ).all()
    )
    inbound: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for replied_to, keyword, n in session.execute(
        select(InboundMessage.campaign_id, InboundMessage.keyword, func.count())
        .where(InboundMessage.campaign_id.in_(ids))
        .group_by(InboundMessage.campaign_id, InboundMessage.keyword)
    ):
        if keyword is None:
            inbound[replied_to][0] += int(n)
        elif keyword == Keyword.OPT_OUT.value:
            inbound[replied_to][1] += int(n)
    parts = [
        VariantFigures(
            label=REST if c.id == rest_id else (c.variant or REST),
            campaign_id=c.id,
            sends=c.variant,
            status=str(c.status),
            recipients=c.recipient_count,
            sent=taken[c.id][0],
            delivered=taken[c.id][1],
            outcomes=taken[c.id][2],
            clicks=int(clicks.get(c.id, 0)),
            replies=inbound[c.id][0],
            opt_outs=inbound[c.id][1],
        )
        for c in children
    ]
    # The variants in their order, the rest last.
    return sorted(parts, key=lambda p: (p.label == REST, p.label, p.campaign_id))


def variant_labels(session: Session, campaign_id: int, family: Sequence[int]) -> dict[int, str]:
    """Each campaign of the family by the label its messages are exported with: the
    variant's, `rest` for the rest, empty for an ordinary campaign."""
    if len(family) == 1:
        return {campaign_id: ""}
    test = ab_test_of(session, campaign_id)
    rest_id = test.rest_id if test is not None else None
    rows = session.execute(select(Campaign.id, Campaign.variant).where(Campaign.id.in_(family)))
    return {
        cid: REST if cid == rest_id else (variant or ("" if cid == campaign_id else REST))
        for cid, variant in rows
    }
