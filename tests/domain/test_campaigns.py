import pytest
from sqlalchemy import func, select
from tests.factories import make_campaign, numbers

from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.errors import Conflict, InvalidInput
from textcast.models import CampaignStatus, Message, MessageStatus


def test_launch_materialises_one_queued_message_per_recipient(database: Database) -> None:
    campaign = make_campaign(database, numbers(1200))
    with database.write() as session:
        launched = campaigns.launch_campaign(session, campaign.id)
    assert launched.status == CampaignStatus.SENDING
    with database.read() as session:
        statuses = session.execute(
            select(Message.status, func.count(), func.sum(Message.parts))
            .where(Message.campaign_id == campaign.id)
            .group_by(Message.status)
        ).all()
    assert [tuple(row) for row in statuses] == [(MessageStatus.QUEUED, 1200, 1200)]


def test_duplicates_are_collapsed_before_anything_is_stored(database: Database) -> None:
    campaign = make_campaign(database, ["+12015550100", "(201) 555-0100", "201.555.0101"])
    assert campaign.recipient_count == 2


def test_every_bad_recipient_and_field_is_named(database: Database) -> None:
    draft = campaigns.CampaignDraft(name=" ", body="", recipients=["+12015550100", "x", "12"])
    with pytest.raises(InvalidInput) as caught, database.write() as session:
        campaigns.create_campaign(session, draft, "US")
    fields = [p.field for p in caught.value.problems]
    assert fields == ["name", "body", "recipients[1]", "recipients[2]"]
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_campaign_is_launched_only_once(database: Database) -> None:
    campaign = make_campaign(database, launch=True)
    with pytest.raises(Conflict), database.write() as session:
        campaigns.launch_campaign(session, campaign.id)
