"""Conversations: the thread a text opens, its unread and "needs reply" marks, and an agent's
answer as a one-recipient `conversation` campaign ahead of marketing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.factories import make_campaign, make_user, numbers

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.audience import consent
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.errors import Conflict, InvalidInput
from textcast.domain.inbox import agent_replies, threads
from textcast.domain.inbox.keywords import Keyword
from textcast.domain.outbox import sending_campaign_ids
from textcast.models import (
    AgentReply,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Contact,
    ContactStatus,
    Conversation,
    ConversationState,
    InboundMessage,
    Message,
    MessageStatus,
)

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
ANA, BEN = numbers(2)
SECRET = b"k" * 32
POLICY = Policy(
    prices=PriceTable({"US": 0.01}, currency="USD"),
    rules=Rules.from_table("08:00-21:00", {}),
    send_rate=0,
    secret=SECRET,
    daily_recipient_quota=1000,
)


def receive(
    database: Database, phone: str, body: str, keyword: Keyword | None, at: datetime
) -> None:
    with database.write() as session:
        message = InboundMessage(
            provider_id=f"{phone}-{at.timestamp()}-{body}",
            from_phone=phone,
            to="12345",
            body=body,
            received_at=at,
        )
        session.add(message)
        session.flush()
        threads.note_inbound(session, message, keyword)


def thread_of(database: Database, phone: str) -> Conversation:
    with database.read() as session:
        found = threads.find_conversation(session, phone)
        assert found is not None
        return found


def test_a_reply_opens_an_unread_thread_that_needs_an_answer(database: Database) -> None:
    receive(database, ANA, "Is the sale online too?", None, T0)
    receive(database, ANA, "And in store?", None, T0 + timedelta(minutes=1))
    conversation = thread_of(database, ANA)
    assert (conversation.unread, conversation.needs_reply) == (2, True)
    assert conversation.state == ConversationState.OPEN
    assert conversation.last_message_at == T0 + timedelta(minutes=1)


def test_a_keyword_moves_the_thread_up_without_asking_for_an_answer(database: Database) -> None:
    receive(database, ANA, "HELP", Keyword.HELP, T0)
    conversation = thread_of(database, ANA)
    assert (conversation.unread, conversation.needs_reply) == (0, False)
    receive(database, ANA, "what is this?", None, T0 + timedelta(minutes=1))
    receive(database, ANA, "STOP", Keyword.OPT_OUT, T0 + timedelta(minutes=2))
    conversation = thread_of(database, ANA)
    # Nobody can answer a number that opted out: it no longer waits for an answer.
    assert (conversation.unread, conversation.needs_reply) == (1, False)


def test_a_closed_thread_opens_again_at_the_next_text(database: Database) -> None:
    receive(database, ANA, "Thanks!", None, T0)
    with database.write() as session:
        conversation = threads.get_conversation(session, thread_of(database, ANA).id)
        threads.mark_read(session, conversation)
        threads.set_state(conversation, ConversationState.CLOSED)
    assert thread_of(database, ANA).state == ConversationState.CLOSED
    receive(database, ANA, "One more thing", None, T0 + timedelta(hours=1))
    conversation = thread_of(database, ANA)
    assert (conversation.state, conversation.unread) == (ConversationState.OPEN, 1)


def test_the_list_filters_and_counts_agree(database: Database) -> None:
    receive(database, ANA, "Hello?", None, T0)
    receive(database, BEN, "HELP", Keyword.HELP, T0 + timedelta(minutes=1))
    with database.read() as session:
        every = threads.list_conversations(session, threads.ConversationFilter())
        unread = threads.list_conversations(session, threads.ConversationFilter(unread=True))
        counts = threads.count_conversations(session)
        badge = threads.unread_conversations(session)
    assert [e.conversation.phone for e in every] == [BEN, ANA]
    assert [e.conversation.phone for e in unread] == [ANA]
    assert every[1].last_text == "Hello?"
    assert counts == {"open": 2, "closed": 0, "unread": 1, "needs_reply": 1}
    assert badge == len(unread)


def reply(database: Database, phone: str, body: str = "Yes, online too!") -> Campaign:
    user = make_user(database, "agent@example.com")
    with database.write() as session:
        conversation = threads.get_conversation(session, thread_of(database, phone).id)
        return agent_replies.send_reply(
            session,
            conversation,
            body,
            actor=audit.Actor("agent@example.com", user_id=user.id),
            policy=POLICY,
            sender=None,
            default_region="US",
        )


def test_an_agent_answer_is_queued_as_a_conversation_campaign(database: Database) -> None:
    receive(database, ANA, "Is the sale online too?", None, T0)
    campaign = reply(database, ANA)
    with database.read() as session:
        assert campaign.kind == CampaignKind.CONVERSATION
        assert campaign.status == CampaignStatus.SENDING
        message = session.scalars(select(Message).where(Message.campaign_id == campaign.id)).one()
        assert (message.phone, message.status) == (ANA, MessageStatus.QUEUED)
        author = session.get(AgentReply, campaign.id)
        assert author is not None and author.user_id is not None
        conversation = threads.get_conversation(session, thread_of(database, ANA).id)
        items = threads.list_thread(session, conversation)
    assert (conversation.needs_reply, conversation.unread) == (False, 0)
    assert [(i.direction, i.body, i.author) for i in items] == [
        ("out", "Yes, online too!", "agent@example.com"),
        ("in", "Is the sale online too?", None),
    ]


def test_an_answer_to_a_number_that_opted_out_is_refused_with_the_reason(
    database: Database,
) -> None:
    receive(database, ANA, "Is the sale online too?", None, T0)
    with database.write() as session:
        contact = Contact(phone=ANA, country="US", attributes={}, status=ContactStatus.SUBSCRIBED)
        session.add(contact)
        session.flush()
        consent.opt_out(session, SECRET, contact, consent.Evidence("keyword", "STOP", "STOP"))
    with pytest.raises(Conflict, match="opted out"):
        reply(database, ANA)
    with database.read() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_an_empty_answer_names_the_body(database: Database) -> None:
    receive(database, ANA, "Hi", None, T0)
    with pytest.raises(InvalidInput, match="body"):
        reply(database, ANA, "   ")


def test_answers_are_claimed_before_marketing_campaigns(database: Database) -> None:
    marketing = make_campaign(database, numbers(5, start=10), launch=True)
    receive(database, ANA, "Hi", None, T0)
    answer = reply(database, ANA)
    with database.read() as session:
        assert sending_campaign_ids(session) == [answer.id, marketing.id]
