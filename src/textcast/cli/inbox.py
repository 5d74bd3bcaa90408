"""`textcast inbox …`: conversations listed (unread, needing an answer, open or closed), a
thread shown (and so read), an answer queued, a thread closed, opened, assigned or noted.

CONTACT is a contact's id (digits only, see `textcast contacts list`) or a phone number
written any common way (`+12015550123`, `(201) 555-0123`): a number that is no contact has a
thread too. The command line runs no dispatcher: an answer it queues is sent by the running
`textcast serve` (or `textcast worker`), ahead of marketing batches, within a second or so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from textcast.cli.common import console, domain_errors, open_database
from textcast.domain.accounts.audit import CLI
from textcast.models import CampaignKind, ConversationState
from textcast.wording import moment

if TYPE_CHECKING:
    from textcast.config import Settings
    from textcast.db import Database
    from textcast.domain.inbox.threads import ConversationEntry
    from textcast.models import Contact
    from textcast.services.conversations import ConversationChange, Thread

inbox_app = typer.Typer(
    help="Conversations: one thread per number, both ways; answer, close, assign.",
    no_args_is_help=True,
)

Who = Annotated[
    str,
    typer.Argument(
        metavar="CONTACT", help="A contact's id, or a phone number (a number that is no contact)."
    ),
]
PREVIEW = 200
"""Characters of the latest text kept for the list, which cuts it to the terminal's width."""
MAX_ID = 2**63 - 1
QUEUED = (
    "It goes out when `textcast serve` (or `textcast worker`) runs its dispatcher, ahead of "
    "marketing batches."
)


@inbox_app.command("list")
def inbox_list(
    unread: Annotated[
        bool, typer.Option("--unread", help="Only threads with unread texts.")
    ] = False,
    needs_reply: Annotated[
        bool, typer.Option("--needs-reply", help="Only threads waiting for an answer.")
    ] = False,
    state: Annotated[
        ConversationState | None, typer.Option(help="Only open or only closed threads.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
) -> None:
    """Threads, the latest message first, and the inbox's counts."""
    from textcast.domain.inbox import threads

    _, database = open_database()
    where = threads.ConversationFilter(state=state, unread=unread, needs_reply=needs_reply)
    with database.read() as session:
        rows = threads.list_conversations(session, where, limit=limit)
        counts = threads.count_conversations(session)
    # No vertical borders, and the time without its year: the latest text keeps a third of
    # a 100-column terminal.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", justify="right")
    table.add_column("who", no_wrap=True, max_width=18, overflow="ellipsis")
    table.add_column("state")
    table.add_column("new", justify="right")
    table.add_column("reply?")
    table.add_column("assignee", no_wrap=True, max_width=14, overflow="ellipsis")
    table.add_column("last (UTC)", no_wrap=True)
    table.add_column("latest text", no_wrap=True, overflow="ellipsis", max_width=30)
    for row in rows:
        c = row.conversation
        table.add_row(
            str(c.id),
            escape(_who(c.phone, row.contact)),
            c.state,
            str(c.unread) if c.unread else "",
            "yes" if c.needs_reply else "",
            escape(row.assignee.email if row.assignee else ""),
            _short_moment(c.last_message_at),
            escape(_preview(row)),
        )
    out = Console()
    out.print(table)
    out.print(
        f"open {counts['open']:,} · closed {counts['closed']:,} · unread {counts['unread']:,}"
        f" · needs reply {counts['needs_reply']:,}"
    )


def _short_moment(at: datetime) -> str:
    """`12-07 14:05`, in UTC."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%m-%d %H:%M")


def _who(phone: str, contact: Contact | None) -> str:
    if contact is None:
        return phone
    name = " ".join(n for n in (contact.first_name, contact.last_name) if n)
    return f"{name} ({contact.id})" if name else f"{phone} ({contact.id})"


def _preview(row: ConversationEntry) -> str:
    text = " ".join((row.last_text or "").split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


@inbox_app.command("show")
def inbox_show(
    who: Who,
    limit: Annotated[int, typer.Option(min=1, max=500, help="The latest messages.")] = 50,
) -> None:
    """The thread, newest first, with each sent text's status; it is read from then on."""
    from textcast.services import conversations

    settings, database = open_database()
    with domain_errors():
        conversation_id = _conversation_id(settings, database, who)
        thread = conversations.read_thread(database, conversation_id, limit=limit)
    out = Console()
    out.print(_summary(thread))
    table = Table(title="newest first")
    table.add_column("when", no_wrap=True)
    table.add_column("")
    table.add_column("text", ratio=1)
    table.add_column("status")
    table.add_column("by", max_width=24)
    for item in thread.items:
        if item.direction == "in":
            status = item.kind or ""
            by = "them"
        else:
            status = item.status or ""
            if item.detail:
                status += f" ({item.detail})"
            # An answer from the command line has no author; other texts say what sent them.
            agent = item.kind == CampaignKind.CONVERSATION
            by = item.author or ("agent" if agent else (item.kind or ""))
        arrow = "←" if item.direction == "in" else "→"
        table.add_row(moment(item.at), arrow, escape(item.body), escape(status), escape(by))
    out.print(table)


def _summary(thread: Thread) -> Table:
    c = thread.conversation
    grid = Table.grid(padding=(0, 2))
    grid.add_row("thread", f"{c.id}: {escape(_who(c.phone, thread.contact))}")
    grid.add_row("phone", c.phone)
    state = str(c.state) + (", waiting for an answer" if c.needs_reply else "")
    grid.add_row("state", state)
    grid.add_row("assignee", escape(thread.assignee.email) if thread.assignee else "nobody")
    if c.note:
        grid.add_row("note", escape(c.note))
    return grid


@inbox_app.command("reply")
def inbox_reply(
    who: Who,
    text: Annotated[str, typer.Argument(help="The answer (at most 2,000 characters).")],
) -> None:
    """Queue an answer in the thread: a conversational text, not marketing (no quiet hours),
    never to a number that opted out, within DAILY_RECIPIENT_QUOTA."""
    from textcast.domain.content import encoding
    from textcast.runtime import agent_reply_policy
    from textcast.services import conversations

    settings, database = open_database()
    policy = agent_reply_policy(settings)
    with domain_errors():
        if who.isdigit():
            campaign, conversation = conversations.reply_to_contact(
                database, CLI, _contact_id(who), text, policy
            )
        else:
            campaign, conversation = conversations.reply_to_number(database, CLI, who, text, policy)
        message = conversations.reply_message(database, campaign.id)
    report = encoding.analyze(campaign.body)
    parts = "1 part" if report.parts == 1 else f"{report.parts} parts"
    console.print(
        f"answer queued to {conversation.phone} (thread {conversation.id}, campaign "
        f"{campaign.id}, message {message.id}: {message.status}): {len(campaign.body):,} "
        f"characters, {parts}, {report.encoding}"
    )
    console.print(QUEUED)


@inbox_app.command("close")
def inbox_close(who: Who) -> None:
    """Dealt with: it leaves the open threads until the person's next text opens it again."""
    from textcast.services.conversations import ConversationChange

    _change(who, ConversationChange(state=ConversationState.CLOSED))


@inbox_app.command("open")
def inbox_open(who: Who) -> None:
    """Open a closed thread again by hand."""
    from textcast.services.conversations import ConversationChange

    _change(who, ConversationChange(state=ConversationState.OPEN))


@inbox_app.command("assign")
def inbox_assign(
    who: Who,
    email: Annotated[str | None, typer.Argument(help="The user's email.")] = None,
    nobody: Annotated[bool, typer.Option("--none", help="Assign it to nobody.")] = False,
) -> None:
    """Assign the thread to a user (by email), or to nobody with --none."""
    if (email is None) == (not nobody):
        console.print("[bold red]error:[/] give the user's email, or --none (not both)")
        raise typer.Exit(2)
    from textcast.domain.accounts import users
    from textcast.services.conversations import ConversationChange

    _, database = open_database()
    user_id = 0  # nobody
    if email is not None:
        with domain_errors(), database.read() as session:
            user_id = users.get_user_by_email(session, email).id
    _change(who, ConversationChange(assignee_id=user_id))


@inbox_app.command("note")
def inbox_note(
    who: Who,
    text: Annotated[str, typer.Argument(help='The note; "" clears it.')],
) -> None:
    """Keep a note on the thread (at most 4,000 characters), for the other agents."""
    from textcast.services.conversations import ConversationChange

    _change(who, ConversationChange(note=text))


def _change(who: str, change: ConversationChange) -> None:
    from textcast.services import conversations

    settings, database = open_database()
    with domain_errors():
        conversation_id = _conversation_id(settings, database, who)
        conversations.update_conversation(database, CLI, conversation_id, change)
        entry = conversations.view_conversation(database, conversation_id)
    c = entry.conversation
    assignee = entry.assignee.email if entry.assignee else "nobody"
    note = f", note: {c.note}" if c.note else ""
    console.print(
        f"thread {c.id} ({escape(_who(c.phone, entry.contact))}): {c.state}, assigned to "
        f"{escape(assignee)}{escape(note)}"
    )


def _conversation_id(settings: Settings, database: Database, who: str) -> int:
    from textcast.services import conversations

    if who.isdigit():
        return conversations.conversation_of_contact(database, _contact_id(who))
    return conversations.conversation_of_number(database, who, settings.default_region)


def _contact_id(text: str) -> int:
    from textcast.domain.errors import NotFound

    number = int(text)
    if not 0 < number <= MAX_ID:
        raise NotFound("contact", text)
    return number
