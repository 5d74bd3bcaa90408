"""An A/B test as written in a draft: its variants (2-5 texts, or 2-3 send times) and how the
winner is chosen. Checked and stored whole; the campaign's own text is variant A's, so every
page that shows a draft's text shows the first variant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.domain.campaigns.drafts import MAX_BODY_CHARS, known_fields, set_body_info
from textcast.domain.campaigns.queries import get_campaign
from textcast.domain.content import templates
from textcast.domain.content.links import find_urls
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput
from textcast.models import (
    AbFallback,
    AbMetric,
    AbState,
    AbTest,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignVariant,
)

LABELS = "ABCDE"
MAX_BODIES = 5
MAX_SEND_TIMES = 3
MAX_DECIDE_AFTER_MINUTES = 30 * 24 * 60
MAX_WINDOW_HOURS = 30 * 24


@dataclass(frozen=True, slots=True)
class AbTestDraft:
    bodies: Sequence[str] = ()
    """2-5 texts; empty for a send-time test."""
    send_times: Sequence[str] = ()
    """2-3 `HH:MM` in each recipient's time zone; empty for a text test."""
    pool_percent: int = 20
    metric: AbMetric = AbMetric.CLICKS
    event_name: str | None = None
    window_hours: int = 24
    decide_after_minutes: int | None = 240
    """None: the operator picks the winner."""
    fallback: AbFallback = AbFallback.FIRST
    min_sample: int = 100
    confidence: float = 0.95
    seed: str | None = None
    """None: a new random one."""


def ab_test_of(session: Session, campaign_id: int, *, for_update: bool = False) -> AbTest | None:
    if for_update:
        return session.get(AbTest, campaign_id, with_for_update=True)
    return session.get(AbTest, campaign_id)


def variants_of(session: Session, campaign_id: int) -> list[CampaignVariant]:
    return list(
        session.scalars(
            select(CampaignVariant)
            .where(CampaignVariant.campaign_id == campaign_id)
            .order_by(CampaignVariant.label)
        )
    )


def set_test(session: Session, campaign_id: int, draft: AbTestDraft) -> AbTest:
    """Make the draft an A/B test, or change its test; every problem is reported at once."""
    campaign = _draft_campaign(session, campaign_id)
    problems = check_test(session, draft, campaign)
    if problems:
        raise InvalidInput(problems)
    session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    if draft.bodies:
        rows = [CampaignVariant(label=label, body=body) for label, body in _labelled(draft.bodies)]
        campaign.body = draft.bodies[0]
        set_body_info(campaign)
    else:
        rows = [
            CampaignVariant(label=label, local_send_time=at)
            for label, at in _labelled(draft.send_times)
        ]
    for row in rows:
        row.campaign_id = campaign.id
        session.add(row)
    test = ab_test_of(session, campaign.id) or AbTest(campaign_id=campaign.id, state=AbState.DRAFT)
    test.pool_percent = draft.pool_percent
    test.metric = draft.metric
    test.event_name = draft.event_name.strip() if draft.event_name else None
    test.window_hours = draft.window_hours
    test.decide_after_minutes = draft.decide_after_minutes
    test.fallback = draft.fallback
    test.min_sample = draft.min_sample
    test.confidence = draft.confidence
    test.seed = draft.seed or test.seed or ULID().hex[:16]
    session.add(test)
    session.flush()
    return test


def remove_test(session: Session, campaign_id: int) -> None:
    """The draft becomes an ordinary campaign again, with variant A's text."""
    _draft_campaign(session, campaign_id)
    session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id))
    session.execute(delete(AbTest).where(AbTest.campaign_id == campaign_id))


def copy_test(session: Session, source_id: int, copy_id: int) -> None:
    """A duplicated campaign gets the same test, as a draft, with a new seed."""
    test = ab_test_of(session, source_id)
    if test is None:
        return
    for variant in variants_of(session, source_id):
        session.add(
            CampaignVariant(
                campaign_id=copy_id,
                label=variant.label,
                body=variant.body,
                local_send_time=variant.local_send_time,
            )
        )
    session.add(
        AbTest(
            campaign_id=copy_id,
            pool_percent=test.pool_percent,
            metric=test.metric,
            event_name=test.event_name,
            window_hours=test.window_hours,
            decide_after_minutes=test.decide_after_minutes,
            fallback=test.fallback,
            min_sample=test.min_sample,
            confidence=test.confidence,
            seed=ULID().hex[:16],
            state=AbState.DRAFT,
        )
    )


def check_test(session: Session, draft: AbTestDraft, campaign: Campaign) -> list[FieldProblem]:
    problems = _check_variants(session, draft)
    if not 1 <= draft.pool_percent <= 100:
        problems.append(
            FieldProblem("test.pool_percent", "must be 1 to 100 (% of the audience tested)")
        )
    if draft.metric == AbMetric.EVENT and not (draft.event_name or "").strip():
        problems.append(FieldProblem("test.event", "name the event that counts, e.g. order_placed"))
    if draft.event_name is not None and len(draft.event_name) > 100:
        problems.append(FieldProblem("test.event", "at most 100 characters"))
    if not 1 <= draft.window_hours <= MAX_WINDOW_HOURS:
        problems.append(FieldProblem("test.window_hours", "must be 1 to 720 hours"))
    if draft.decide_after_minutes is not None and not (
        0 <= draft.decide_after_minutes <= MAX_DECIDE_AFTER_MINUTES
    ):
        problems.append(
            FieldProblem("test.decide_after", "must be at most 30 days after the test is sent")
        )
    if not 1 <= draft.min_sample <= 1_000_000:
        problems.append(FieldProblem("test.min_sample", "must be 1 to 1,000,000 texts"))
    if not 0.5 <= draft.confidence < 1:
        problems.append(
            FieldProblem("test.confidence", "must be from 0.5 up to (not including) 1, e.g. 0.95")
        )
    if draft.seed is not None and not (1 <= len(draft.seed) <= 32):
        problems.append(FieldProblem("test.seed", "must be 1 to 32 characters"))
    if draft.metric == AbMetric.CLICKS:
        bodies = draft.bodies or [campaign.body]
        if not all(find_urls(body) for body in bodies):
            problems.append(
                FieldProblem(
                    "test.metric",
                    "click rate needs a link in every variant's text (links become short "
                    "links that count clicks); add one, or choose replies or delivery",
                )
            )
    return problems


def _check_variants(session: Session, draft: AbTestDraft) -> list[FieldProblem]:
    if bool(draft.bodies) == bool(draft.send_times):
        return [
            FieldProblem(
                "variants",
                "give either 2 to 5 texts or 2 to 3 send times to compare, not both",
            )
        ]
    if draft.bodies:
        if not 2 <= len(draft.bodies) <= MAX_BODIES:
            return [FieldProblem("variants", "an A/B test compares 2 to 5 texts")]
        problems: list[FieldProblem] = []
        for index, body in enumerate(draft.bodies):
            problems.extend(_check_body(session, body, f"variants[{index}].body"))
        if len(set(draft.bodies)) < len(draft.bodies):
            problems.append(FieldProblem("variants", "two variants have the same text"))
        return problems
    if not 2 <= len(draft.send_times) <= MAX_SEND_TIMES:
        return [FieldProblem("variants", "a send-time test compares 2 or 3 times")]
    problems = [
        FieldProblem(f"variants[{index}].send_time", "must be HH:MM, e.g. 10:00", at)
        for index, at in enumerate(draft.send_times)
        if not _is_clock_time(at)
    ]
    if not problems and len(set(draft.send_times)) < len(draft.send_times):
        problems.append(FieldProblem("variants", "two variants have the same send time"))
    return problems


def _check_body(session: Session, body: str, field: str) -> list[FieldProblem]:
    if not body.strip():
        return [FieldProblem(field, "must not be empty")]
    if len(body) > MAX_BODY_CHARS:
        return [FieldProblem(field, f"at most {MAX_BODY_CHARS} characters (Sinch's limit)")]
    try:
        template = templates.parse(body, field)
    except templates.TemplateError as exc:
        return list(exc.problems)
    if template.is_static:
        return []
    return templates.unknown_fields(template, known_fields(session), field)


def _is_clock_time(value: str) -> bool:
    try:
        time.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 5


def _labelled(values: Sequence[str]) -> list[tuple[str, str]]:
    return list(zip(LABELS, values, strict=False))


def _draft_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.kind != CampaignKind.MARKETING or campaign.parent_id is not None:
        raise Conflict(f"campaign {campaign_id} cannot hold an A/B test (only a campaign can)")
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status}; its test can only change while "
            "it is a draft"
        )
    return campaign


def follow_first_variant(session: Session, campaign: Campaign) -> None:
    """The campaign's text was changed as a whole: it is variant A's now (a text test)."""
    first = session.get(CampaignVariant, (campaign.id, LABELS[0]))
    if first is not None and first.body is not None:
        first.body = campaign.body
