"""The one-recipient campaigns a sign-up launches: its confirmation text and its welcome text.

A plain text of a kind sent whatever the number's consent (a confirmation) is written the short
way, as `create_campaign` and `launch_campaign` would write it (`launch_texts`, the hot path of
a busy form); any other goes the long way, through those two.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from textcast.domain.campaigns import drafts
from textcast.domain.campaigns.launch import launch_campaign
from textcast.domain.content import templates
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    ClaimCursor,
    Message,
    MessageStatus,
    utcnow,
)
from textcast.vocabulary import CHECKS_OPT_OUTS


def send_one(
    session: Session,
    sender: str | None,
    kind: CampaignKind,
    name: str,
    body: str,
    phone: str,
) -> int:
    """A one-recipient campaign of `kind`, launched: its id."""
    body_info = plain_body(body, sender) if kind not in CHECKS_OPT_OUTS else None
    if body_info is not None:
        return launch_texts(session, sender, kind, name, [(phone, body, body_info)])[0]
    draft = drafts.CampaignDraft(name, body, [phone], sender)
    try:
        campaign = drafts.create_campaign(session, draft, "US", kind=kind)
    except InvalidInput as exc:
        field_name = f"{kind.value}_text"
        raise InvalidInput(
            [FieldProblem(field_name, problem.message) for problem in exc.problems]
        ) from None
    launch_campaign(session, campaign.id)
    return campaign.id


@functools.lru_cache(maxsize=256)
def plain_body(body: str, sender: str | None) -> tuple[str, int] | None:
    """The encoding and parts of a text `create_campaign` takes as it is (no placeholder,
    within the limits), read once per text; None for any other (it takes the long way)."""
    draft = drafts.CampaignDraft("Sign-up text", body, ["+1"], sender)
    if drafts.check_text(draft):
        return None
    try:
        if not templates.parse(body).is_static:
            return None
    except templates.TemplateError:
        return None
    sample = Campaign(body=body, smart_encoding=False)
    drafts.set_body_info(sample)
    return sample.encoding, sample.parts


def launch_texts(
    session: Session,
    sender: str | None,
    kind: CampaignKind,
    name: str,
    texts: Sequence[tuple[str, str, tuple[str, int]]],
) -> list[int]:
    """What `create_campaign` and `launch_campaign` write for one number and a plain text
    (`plain_body`) of a kind sent to opted-out numbers too, for each `(phone, body,
    body_info)`, in four INSERTs whatever their number: the hot path of a busy form
    (tests/domain/test_signups.py compares the two ways). The campaigns' ids, in order."""
    if not texts:
        return []
    now = utcnow()
    references = [drafts.new_reference() for _ in texts]
    # One prepared statement each, executed for all the rows (cached, whatever their number).
    rows = session.execute(
        insert(Campaign).returning(Campaign.reference, Campaign.id),
        [
            {
                "reference": reference,
                "name": name,
                "body": body,
                "sender": sender,
                "status": CampaignStatus.SENDING,
                "kind": kind,
                "encoding": encoding,
                "parts": parts,
                "recipient_count": 1,
                "audience": {"lists": [], "segments": []},
                "smart_encoding": False,
                "short_links": False,
                "spent": 0.0,
                "created_at": now,
                "launched_at": now,
            }
            for reference, (_, body, (encoding, parts)) in zip(references, texts, strict=True)
        ],
    ).all()
    by_reference = {reference: int(campaign_id) for reference, campaign_id in rows}
    ids = [by_reference[reference] for reference in references]
    numbered = list(zip(ids, texts, strict=True))
    session.execute(
        insert(CampaignRecipient),
        [{"campaign_id": cid, "phone": phone} for cid, (phone, _, _) in numbered],
    )
    session.execute(
        insert(Message),
        [
            {
                "campaign_id": cid,
                "phone": phone,
                "status": MessageStatus.QUEUED,
                "parts": parts,
                "created_at": now,
                "updated_at": now,
            }
            for cid, (phone, _, (_, parts)) in numbered
        ],
    )
    session.execute(
        insert(ClaimCursor), [{"campaign_id": cid, "claimed_through": 0} for cid in ids]
    )
    return ids
