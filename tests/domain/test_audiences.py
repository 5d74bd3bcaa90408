import pytest
from sqlalchemy import select
from tests.factories import claim_batch, numbers

from textcast.db import Database
from textcast.domain import campaigns, outbox
from textcast.domain.audience import consent, contacts, lists, segments
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.errors import InvalidInput
from textcast.models import Contact, Message, MessageStatus

KEY = b"test-key"


def _contacts(database: Database, specs: list[tuple[str, dict[str, object]]]) -> list[int]:
    with database.write() as session:
        return [
            contacts.create_contact(
                session, ContactDraft(phone, attributes=attrs), "US", source="api", secret=KEY
            ).id  # type: ignore[arg-type]
            for phone, attrs in specs
        ]


def _launch(database: Database, draft: campaigns.CampaignDraft) -> set[str]:
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id)
    with database.read() as session:
        return set(session.scalars(select(Message.phone).where(Message.campaign_id == campaign.id)))


def test_a_campaign_targets_lists_segments_and_numbers_once_each(database: Database) -> None:
    phones = numbers(4)
    ids = _contacts(
        database,
        [(phones[0], {"plan": "gold"}), (phones[1], {"plan": "free"}), (phones[2], {"plan": 3})],
    )
    with database.write() as session:
        vips = lists.create_list(session, "VIP")
        lists.add_members(session, vips.id, [ids[0], ids[1]])
        gold = segments.create_segment(
            session,
            "gold or 3",
            {
                "match": "any",
                "conditions": [
                    {"field": "attributes.plan", "op": "eq", "value": "gold"},
                    {"field": "attributes.plan", "op": "eq", "value": 3},
                ],
            },
        )
    audience = _launch(
        database,
        campaigns.CampaignDraft(
            "x", "hi", [phones[0], phones[3]], list_ids=[vips.id], segment_ids=[gold.id]
        ),
    )
    assert audience == set(phones)


def test_contains_matches_percent_and_underscore_as_themselves(database: Database) -> None:
    phones = numbers(3)
    _contacts(
        database,
        [(phones[0], {"code": "50%_off"}), (phones[1], {"code": "50 off"}), (phones[2], {})],
    )
    with database.write() as session:
        for value, expected in (("%", {phones[0]}), ("_", {phones[0]}), ("50", set(phones[:2]))):
            rules = {"conditions": [{"field": "attributes.code", "op": "contains", "value": value}]}
            segment = segments.create_segment(session, f"has {value}", rules)
            members = set(
                session.scalars(select(Contact.phone).where(segments.condition_sql(segment.rules)))
            )
            assert members == expected, value


def test_opted_out_contacts_are_left_out_at_launch(database: Database) -> None:
    phones = numbers(2)
    ids = _contacts(database, [(phones[0], {}), (phones[1], {})])
    with database.write() as session:
        group = lists.create_list(session, "all")
        lists.add_members(session, group.id, ids)
        consent.opt_out(
            session, KEY, contacts.get_contact(session, ids[1]), consent.Evidence("api")
        )
    assert _launch(
        database, campaigns.CampaignDraft("x", "hi", [phones[1]], list_ids=[group.id])
    ) == {phones[0]}


def test_a_stop_after_launch_skips_the_queued_message_with_its_reason(database: Database) -> None:
    phones = numbers(3)
    ids = _contacts(database, [(p, {}) for p in phones])
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, campaigns.CampaignDraft("x", "hi", phones), "US"
        )
        campaigns.launch_campaign(session, campaign.id)
    with database.write() as session:
        consent.opt_out(
            session,
            KEY,
            contacts.get_contact(session, ids[1]),
            consent.Evidence("keyword", keyword="STOP"),
        )
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, KEY)
    assert batch is not None
    assert batch.recipients == sorted([phones[0], phones[2]])
    with database.read() as session:
        skipped = session.scalars(
            select(Message).where(Message.status == MessageStatus.SKIPPED)
        ).one()
    assert (skipped.phone, skipped.error, skipped.batch_id) == (phones[1], "opted_out", None)


def test_a_batch_of_only_opted_out_numbers_moves_on_to_the_next_ones(database: Database) -> None:
    phones = numbers(4)
    ids = _contacts(database, [(p, {}) for p in phones])
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, campaigns.CampaignDraft("x", "hi", phones), "US"
        )
        campaigns.launch_campaign(session, campaign.id)
        for contact_id in ids[:2]:
            consent.opt_out(
                session, KEY, contacts.get_contact(session, contact_id), consent.Evidence("api")
            )
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 2, KEY)
    assert batch is not None and batch.recipients == sorted(phones[2:])


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"conditions": []}, "rules.conditions"),
        (
            {"conditions": [{"field": "colour", "op": "eq", "value": "red"}]},
            "rules.conditions[0].field",
        ),
        (
            {"conditions": [{"field": "country", "op": "contains", "value": "F"}]},
            "rules.conditions[0].op",
        ),
        (
            {"conditions": [{"field": "list", "op": "in", "value": [999]}]},
            "rules.conditions[0].value",
        ),
        (
            {
                "match": "some",
                "conditions": [{"field": "status", "op": "eq", "value": "subscribed"}],
            },
            "rules.match",
        ),
    ],
)
def test_bad_segment_rules_name_the_rule(
    database: Database, rules: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught, database.write() as session:
        segments.create_segment(session, "s", rules)
    assert caught.value.problems[0].field == field


def test_unknown_lists_and_segments_are_named(database: Database) -> None:
    with pytest.raises(InvalidInput) as caught, database.write() as session:
        campaigns.create_campaign(
            session, campaigns.CampaignDraft("x", "hi", list_ids=[7], segment_ids=[8]), "US"
        )
    assert [p.field for p in caught.value.problems] == ["lists[0]", "segments[0]"]


def test_a_stop_while_the_batch_waits_for_tokens_is_honoured_at_the_last_check(
    database: Database,
) -> None:
    phones = numbers(3)
    ids = _contacts(database, [(p, {}) for p in phones])
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session, campaigns.CampaignDraft("x", "hi", phones), "US"
        )
        campaigns.launch_campaign(session, campaign.id)
    with database.write() as session:
        claimed = claim_batch(session, campaign.id, 1000, KEY)
    assert claimed is not None and len(claimed.recipients) == 3
    with database.write() as session:
        consent.opt_out(
            session, KEY, contacts.get_contact(session, ids[0]), consent.Evidence("api")
        )
    with database.write() as session:
        ready = outbox.prepare_post(session, claimed, KEY)
    assert ready.recipients == sorted(phones[1:])
    with database.read() as session:
        assert outbox.inflight_posts_to(session, phones[1]) == 1
        assert outbox.inflight_posts_to(session, phones[0]) == 0
    with database.write() as session:
        outbox.record_accepted(session, claimed.id, "SINCH1")
    with database.read() as session:
        assert outbox.inflight_posts_to(session, phones[1]) == 0
        statuses = dict(session.execute(select(Message.phone, Message.status)).all())
    assert statuses == {
        phones[0]: MessageStatus.SKIPPED,
        phones[1]: MessageStatus.ACCEPTED,
        phones[2]: MessageStatus.ACCEPTED,
    }
