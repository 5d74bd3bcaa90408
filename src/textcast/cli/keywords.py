"""`textcast keywords …`: the words people text to join a list (VIP), added, listed, removed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from textcast.cli.common import console, domain_errors, open_database

keywords_app = typer.Typer(
    help="Keywords people text to join a list (Text VIP to ...).", no_args_is_help=True
)


@keywords_app.command("add")
def keywords_add(
    word: Annotated[str, typer.Argument(help="Matched ignoring case, spaces and punctuation.")],
    list_name: Annotated[str, typer.Option("--list", help="The list it adds people to.")],
    single_opt_in: Annotated[
        bool,
        typer.Option(
            "--single-opt-in",
            help="Subscribe at once, without asking to reply Y (a number that once sent STOP "
            "is asked all the same).",
        ),
    ] = False,
    confirmation: Annotated[
        str | None, typer.Option(help="The text asking to reply Y; default: one naming the brand.")
    ] = None,
    welcome: Annotated[
        str | None, typer.Option(help="The text sent once subscribed; default: one naming it.")
    ] = None,
    no_welcome: Annotated[bool, typer.Option("--no-welcome", help="No welcome text.")] = False,
    already: Annotated[
        str | None, typer.Option(help="The answer to a member who texts the word again.")
    ] = None,
) -> None:
    """Add a keyword: texting it starts a sign-up to the list."""
    from textcast.domain.accounts.audit import CLI
    from textcast.domain.audience import lists
    from textcast.domain.signups.keywords import KeywordDraft, KeywordTexts
    from textcast.services import keywords

    settings, database = open_database()
    with domain_errors():
        with database.read() as session:
            list_id = lists.list_named(session, list_name).id
        texts = KeywordTexts(confirmation, "" if no_welcome else welcome, already)
        draft = KeywordDraft(word, list_id, not single_opt_in, texts)
        added = keywords.add_keyword(database, CLI, settings, draft)
    mode = "double opt-in" if added.double_opt_in else "single opt-in"
    console.print(f"keyword {added.id}: {added.word} adds people to {list_name!r} ({mode})")


@keywords_app.command("list")
def keywords_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Keywords by word, with their list and what their sign-ups became."""
    from rich.table import Table

    from textcast.cli import listing
    from textcast.domain.signups import keywords

    _, database = open_database()
    with database.read() as session:
        rows = keywords.list_keywords(session)
    if as_json:
        listing.print_json(listing.keyword(f) for f in rows)
        return
    table = Table("id", "word", "list", "mode", "sign-ups", "confirmed", "pending", "expired")
    for f in rows:
        mode = "double opt-in" if f.keyword.double_opt_in else "single opt-in"
        figures = (f.signups, f.confirmed, f.pending, f.expired)
        table.add_row(
            str(f.keyword.id), f.keyword.word, f.list_name, mode, *(f"{n:,}" for n in figures)
        )
    Console().print(table)


@keywords_app.command("remove")
def keywords_remove(word: Annotated[str, typer.Argument(help="The keyword to remove.")]) -> None:
    """Remove a keyword: its word stops adding people; its sign-ups stay, as evidence."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import keywords

    _, database = open_database()
    with domain_errors():
        removed = keywords.remove_keyword_by_word(database, CLI, word)
    console.print(f"keyword {removed.word} removed")
