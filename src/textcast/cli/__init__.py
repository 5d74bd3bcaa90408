"""`textcast serve | worker | simulator | demo | db upgrade | campaigns … | contacts …`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy.orm import Session

from textcast.cli.accounts import apikeys_app, audit_list, users_app
from textcast.cli.common import command_settings, console, domain_errors, open_database
from textcast.config import (
    Settings,
    SettingsError,
    check_webhook_authentication,
    webhook_secret,
)
from textcast.db import Database
from textcast.logs import configure_logging

app = typer.Typer(
    help="textcast: self-hosted SMS campaigns on Sinch.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
campaigns_app = typer.Typer(help="Create, send and follow campaigns.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")
contacts_app = typer.Typer(help="Contacts (import them from CSV files).", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.command("audit")(audit_list)
FIRST_ADMIN_PASSWORD_FILE = ".textcast-admin-password"  # noqa: S105 - a file name


def _simulator_banner(settings: Settings) -> None:
    if settings.uses_simulator:
        console.print(
            Panel(
                "No Sinch credentials (SINCH_SERVICE_PLAN_ID / SINCH_API_TOKEN) are set.\n"
                "Messages go to the built-in [bold]Sinch SIMULATOR[/] at "
                f"{settings.public_url}/simulator.\n"
                "Nothing reaches a real phone.",
                title="SIMULATED SINCH",
                border_style="bold yellow",
            )
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PORT, default 8000).")] = None,
    dispatcher: Annotated[bool, typer.Option(help="Run the dispatcher in this process.")] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (Linux spreads connections over them).",
        ),
    ] = 1,
    log_level: str = "info",
) -> None:
    """Serve the API, webhooks and (by default) the dispatcher."""
    settings = command_settings(host=host, port=port)
    try:
        check_webhook_authentication(settings)
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    configure_logging(log_level, settings.log_format)
    _first_admin(settings)
    if workers == 1:
        _simulator_banner(settings)
        _serve_process(settings, dispatcher, log_level)
        return
    if settings.uses_simulator and dispatcher and not settings.sinch_base_url:
        console.print(
            "[bold red]error:[/] the built-in Sinch simulator keeps its state in one process, "
            "so it is not served with --workers; run `textcast simulator` and set "
            "SINCH_BASE_URL, or serve with --no-dispatcher."
        )
        raise typer.Exit(2)
    _serve_workers(settings, dispatcher, log_level, workers)


def _first_admin(settings: Settings) -> None:
    """Migrate (once, ahead of any worker), and on an empty database create an admin and
    hand over its password this once: on the terminal, or in a file only the owner reads."""
    from textcast.domain.accounts import audit, users
    from textcast.migrate import ensure_schema

    database = Database(settings.database_url)
    try:
        ensure_schema(database)
        with database.write() as session:
            password = users.create_first_admin(session, settings.admin_email)
            if password is not None:
                audit.record(session, audit.CLI, "user.create", settings.admin_email, role="admin")
    finally:
        database.dispose()
    if password is None:
        return
    sign_in = f"Sign in at {settings.public_url}/login"
    if sys.stdout.isatty() and sys.stderr.isatty():
        handed_over = (
            f"email:    {settings.admin_email}\npassword: {password}\n\n{sign_in}. "
            "This password is shown only now; change it, or create users with "
            "`textcast users create`."
        )
    else:
        # Output that is not a terminal usually ends up in a log: the password must not.
        try:
            path = _write_first_admin_password(settings, password)
        except OSError as exc:
            console.print(
                f"[bold red]error:[/] the first admin's password could not be written beside "
                f"SECRET_KEY_FILE ({exc.strerror}); set one with "
                f"`textcast users update {settings.admin_email} --password`."
            )
            return
        handed_over = (
            f"email:    {settings.admin_email}\npassword: in {path} (readable by this user "
            f"only)\n\n{sign_in}, then delete that file; change the password, or create users "
            "with `textcast users create`."
        )
    console.print(
        Panel(handed_over, title="FIRST ADMIN CREATED", border_style="bold green", highlight=False)
    )


def _write_first_admin_password(settings: Settings, password: str) -> Path:
    path = (Path(settings.secret_key_file).parent / FIRST_ADMIN_PASSWORD_FILE).resolve()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when an older file was there with looser rights
    with os.fdopen(fd, "w") as handle:
        handle.write(f"email: {settings.admin_email}\npassword: {password}\n")
    return path


def _serve_process(
    settings: Settings, dispatch: bool, log_level: str, sockets: list[socket.socket] | None = None
) -> None:
    import uvicorn

    from textcast.web.app import create_app

    # Database work runs in threads that give up the GIL at every socket or SQLite call; the
    # default 5 ms switch interval would make each of them wait behind the event loop.
    sys.setswitchinterval(0.0005)
    # log_config=None: uvicorn's lines go through our handler (LOG_FORMAT, masked numbers).
    if sockets is None:
        app = create_app(settings, dispatch=dispatch)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            log_config=None,
            access_log=False,
        )
        return
    app = create_app(settings, dispatch=dispatch, simulator=False)
    config = uvicorn.Config(app, log_level=log_level, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets)


def _serve_workers(settings: Settings, dispatch: bool, log_level: str, workers: int) -> None:
    """`workers` processes on one port; all stop when one of them ends."""
    import multiprocessing
    from multiprocessing.connection import wait

    # `serve` has migrated already (`_first_admin`), before any worker starts.
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_process,
            args=(settings.host, settings.port, dispatch, log_level),
            name=f"textcast-serve-{n}",
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(*_: object) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait([process.sentinel for process in processes])
    stop()
    for process in processes:
        process.join()
    if any(process.exitcode not in (0, -signal.SIGTERM) for process in processes):
        raise typer.Exit(1)


def _worker_process(host: str, port: int, dispatch: bool, log_level: str) -> None:
    settings = command_settings(host=host, port=port)
    configure_logging(log_level, settings.log_format)
    # A listening socket of its own in each worker: the kernel spreads connections evenly over
    # them (SO_REUSEPORT). With one shared socket, the first worker to wake accepts most of a
    # burst, and keep-alive connections (Sinch's, or a benchmark's) stay where they land.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    _serve_process(settings, dispatch, log_level, [sock])


@app.command()
def worker(log_level: str = "info") -> None:
    """Run only the dispatcher (scale-out: `serve --no-dispatcher` elsewhere)."""
    from textcast.migrate import ensure_schema
    from textcast.runtime import Runtime

    settings = command_settings()
    configure_logging(log_level, settings.log_format)
    _simulator_banner(settings)
    runtime = Runtime(settings, Database(settings.database_url))
    ensure_schema(runtime.database)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runtime.running(dispatch=True):
            await stop.wait()

    asyncio.run(main())


@app.command()
def simulator(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9090,
    host: str = "127.0.0.1",
    callback_url: Annotated[str | None, typer.Option(help="Default delivery-report URL.")] = None,
    inbound_url: Annotated[
        str | None, typer.Option(help="Where inbound (MO) messages are posted.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            help="Sign callbacks with this HMAC secret. Default: the one `textcast serve` "
            "verifies with the same settings (SINCH_WEBHOOK_SECRET, or without Sinch "
            "credentials and webhook settings, the one derived from SECRET_KEY)."
        ),
    ] = None,
    allowed_callback_url: Annotated[
        list[str] | None,
        typer.Option(help="Refuse batches whose callback_url is not one of these (repeatable)."),
    ] = None,
    callback_basic_auth: Annotated[
        str | None, typer.Option(help="Send user:password as basic auth with callbacks.")
    ] = None,
    rate: Annotated[
        float, typer.Option(help="Plan rate, recipients per second (0 = unlimited).")
    ] = 0.0,
    token: Annotated[str, typer.Option(help="Bearer token to accept.")] = "simulated-token",  # noqa: S107
    plan: Annotated[str, typer.Option(help="Service plan id to accept.")] = "simulated",
) -> None:
    """Run the Sinch simulator on its own port."""
    from textcast.simulator import SimulatorConfig, serve_simulator

    configure_logging()
    if secret is None:
        secret = webhook_secret(command_settings())
    basic_auth = None
    if callback_basic_auth is not None:
        user, colon, password = callback_basic_auth.partition(":")
        if not colon:
            raise typer.BadParameter("must be user:password", param_hint="--callback-basic-auth")
        basic_auth = (user, password)
    config = SimulatorConfig(
        service_plan_id=plan,
        api_token=token,
        default_callback_url=callback_url,
        inbound_callback_url=inbound_url,
        allowed_callback_urls=frozenset(allowed_callback_url) if allowed_callback_url else None,
        webhook_secret=secret,
        callback_basic_auth=basic_auth,
        rate=rate,
    )
    console.print(f"Sinch simulator on http://{host}:{port}/xms/v1/{plan}/ (token {token!r})")
    serve_simulator(config, host, port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from textcast.migrate import current_revision, upgrade

    settings = command_settings()
    database = Database(settings.database_url)
    upgrade(database)
    console.print(f"database at revision {current_revision(database)}")


@app.command()
def demo(
    recipients: Annotated[int, typer.Option(min=1, max=100_000, help="Campaign size.")] = 2500,
    database_url: Annotated[
        str | None, typer.Option(help="Defaults to a fresh SQLite file in a temporary folder.")
    ] = None,
) -> None:
    """The whole path on SQLite + the simulator: a campaign, live progress, final counts."""
    from textcast.cli.demo import run_demo

    configure_logging("warning")
    sys.exit(asyncio.run(run_demo(console, recipients, database_url)))


def _read_numbers(path: Path) -> list[str]:
    """One number per line; blank lines and `#` comments are skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@campaigns_app.command("create")
def campaigns_create(
    name: Annotated[str, typer.Option(help="Campaign name.")],
    body: Annotated[
        str, typer.Option(help='Message text; merge fields as {{ first_name | default("there") }}.')
    ],
    recipients: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="File with one phone number per line."),
    ] = None,
    list_ids: Annotated[
        list[int] | None, typer.Option("--list", help="A list id (repeatable).")
    ] = None,
    segment_ids: Annotated[
        list[int] | None, typer.Option("--segment", help="A segment id (repeatable).")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Sender; SINCH_NUMBER by default.")] = None,
    smart_encoding: Annotated[
        bool, typer.Option(help="Replace curly quotes, dashes... by GSM-7 characters.")
    ] = False,
    send_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"],
            help="Start at, with its offset: 2026-12-01T10:00+01:00.",
        ),
    ] = None,
    local_time: Annotated[
        str | None, typer.Option(help="HH:MM in each recipient's own time zone.")
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"],
            help="Skip what quiet hours still hold then.",
        ),
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Spending cap.")] = None,
    send: Annotated[bool, typer.Option(help="Send it right away.")] = False,
) -> None:
    """Create a campaign for numbers, lists and segments (and optionally send it)."""
    from textcast.domain import campaigns
    from textcast.runtime import sending_policy

    settings, database = open_database()
    draft = campaigns.CampaignDraft(
        name,
        body,
        _read_numbers(recipients) if recipients else [],
        sender or settings.sinch_number,
        list_ids=list_ids or [],
        segment_ids=segment_ids or [],
        smart_encoding=smart_encoding,
        send_at=send_at,
        local_send_time=local_time,
        expires_at=expires_at,
        budget=budget,
    )
    with domain_errors(), database.write() as session:
        campaign = campaigns.create_campaign(session, draft, settings.default_region)
        _audit(session, "campaign.create", f"campaign:{campaign.id}")
        if send:
            campaigns.launch_campaign(session, campaign.id, sending_policy(settings))
            _audit(session, "campaign.send", f"campaign:{campaign.id}")
    state = campaign.status if send else "draft"
    console.print(f"campaign {campaign.id}: {campaign.recipient_count:,} recipients, {state}")


def _audit(session: Session, action: str, target: str, **detail: object) -> None:
    """What the command line does is in the audit log too, as `cli`."""
    from textcast.domain.accounts import audit

    audit.record(session, audit.CLI, action, target, **detail)


@campaigns_app.command("send")
def campaigns_send(campaign_id: int) -> None:
    """Queue every message of a draft; a running dispatcher picks them up."""
    from textcast.domain import campaigns
    from textcast.runtime import sending_policy

    settings, database = open_database()
    # A personalised audience is rendered, counted and priced recipient by recipient.
    with (
        domain_errors(),
        console.status("writing one message per recipient..."),
        database.write() as session,
    ):
        campaign = campaigns.launch_campaign(session, campaign_id, sending_policy(settings))
        _audit(session, "campaign.send", f"campaign:{campaign_id}")
    when = f" for {campaign.send_at:%Y-%m-%d %H:%M %Z}" if campaign.status == "scheduled" else ""
    console.print(f"campaign {campaign.id}: {campaign.recipient_count:,} messages queued{when}")


@campaigns_app.command("plan")
def campaigns_plan(
    campaign_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON instead.")] = False,
) -> None:
    """Who gets what, in how many parts, at what cost, finishing when (nothing is sent)."""
    from textcast.cli.render import plan_view
    from textcast.domain import campaigns
    from textcast.domain.campaigns import planning
    from textcast.models import utcnow
    from textcast.plan_presenter import plan_out
    from textcast.runtime import sending_policy

    settings, database = open_database()
    with domain_errors(), database.read() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        with console.status("evaluating the audience..."):
            result = planning.plan(session, campaign, sending_policy(settings), utcnow())
    out = plan_out(campaign_id, result)
    if as_json:
        print(out.model_dump_json(indent=2))
        return
    console.print(plan_view(out))


@campaigns_app.command("pause")
def campaigns_pause(campaign_id: int) -> None:
    """Hand nothing more to Sinch until resumed."""
    from textcast.domain import campaigns

    _, database = open_database()
    with domain_errors(), database.write() as session:
        campaign = campaigns.pause_campaign(session, campaign_id)
        _audit(session, "campaign.pause", f"campaign:{campaign_id}")
    console.print(f"campaign {campaign.id}: {campaign.status}")


@campaigns_app.command("resume")
def campaigns_resume(campaign_id: int) -> None:
    """Go on sending a paused campaign (after raising its budget, if that paused it)."""
    from textcast.domain import campaigns

    _, database = open_database()
    with domain_errors(), database.write() as session:
        campaign = campaigns.resume_campaign(session, campaign_id)
        _audit(session, "campaign.resume", f"campaign:{campaign_id}")
    console.print(f"campaign {campaign.id}: {campaign.status}")


@campaigns_app.command("cancel")
def campaigns_cancel(campaign_id: int) -> None:
    """Skip what is not sent yet and cancel Sinch batches still queued there."""
    from textcast.domain import campaigns
    from textcast.runtime import Runtime

    settings, database = open_database()
    with domain_errors(), database.write() as session:
        campaign, provider_ids = campaigns.cancel_campaign(session, campaign_id)
        _audit(session, "campaign.cancel", f"campaign:{campaign_id}")
    cancelled = asyncio.run(Runtime(settings, database).cancel_provider_batches(provider_ids))
    console.print(
        f"campaign {campaign.id}: cancelled; {cancelled} of {len(provider_ids)} Sinch "
        "batch(es) cancelled there"
    )


@campaigns_app.command("duplicate")
def campaigns_duplicate(campaign_id: int) -> None:
    """A new draft with the same body, audience and options."""
    from textcast.domain import campaigns

    _, database = open_database()
    with domain_errors(), database.write() as session:
        copy = campaigns.duplicate_campaign(session, campaign_id)
        _audit(session, "campaign.create", f"campaign:{copy.id}", duplicate_of=campaign_id)
    console.print(f"campaign {copy.id}: draft copy of {campaign_id}")


@campaigns_app.command("test")
def campaigns_test(campaign_id: int, phone: str) -> None:
    """Send the campaign's text to one number now (a running dispatcher sends it)."""
    from textcast.domain import campaigns
    from textcast.runtime import sending_policy

    settings, database = open_database()
    with domain_errors(), database.write() as session:
        test = campaigns.test_send(
            session, campaign_id, phone, settings.default_region, sending_policy(settings)
        )
        _audit(session, "campaign.test", f"campaign:{campaign_id}")
    console.print(f"test campaign {test.id} queued for {phone}")


@campaigns_app.command("status")
def campaigns_status(
    campaign_id: int,
    watch: Annotated[bool, typer.Option(help="Follow live until every message is final.")] = False,
) -> None:
    """The funnel, failures by Sinch code, skips by reason, delivery rate, replies, cost."""
    import time

    from rich.live import Live

    from textcast.cli.analytics import render_status
    from textcast.domain import campaigns
    from textcast.domain.reporting import analytics
    from textcast.domain.reporting.analytics import Analytics
    from textcast.runtime import describe_delivery_code

    _, database = open_database()

    def read() -> tuple[Analytics, bool]:
        with database.read() as session:
            progress = campaigns.campaign_progress(session, campaign_id)
            figures = analytics.campaign_analytics(session, campaign_id, describe_delivery_code)
        done = progress.total > 0 and progress.final >= progress.total
        return figures, done

    out = Console()
    with domain_errors():
        figures, done = read()
        if not watch:
            out.print(render_status(figures))
            return
        with Live(render_status(figures), console=out, refresh_per_second=4) as live:
            while not done:
                time.sleep(1.0)  # each read aggregates the whole campaign
                figures, done = read()
                live.update(render_status(figures))


# -- contacts import ---------------------------------------------------------------------------


@contacts_app.command("add")
def contacts_add(
    phone: str,
    first_name: Annotated[str | None, typer.Option(help="First name.")] = None,
    last_name: Annotated[str | None, typer.Option(help="Last name.")] = None,
    evidence: Annotated[str | None, typer.Option(help="How this person agreed to texts.")] = None,
) -> None:
    """Add one contact (subscribed, with its consent evidence)."""
    from textcast.config import instance_secret
    from textcast.domain.audience import contacts

    settings, database = open_database()
    draft = contacts.ContactDraft(phone, first_name, last_name, consent_evidence=evidence)
    with domain_errors(), database.write() as session:
        contact = contacts.create_contact(
            session, draft, settings.default_region, "cli", instance_secret(settings)
        )
    console.print(f"contact {contact.id}: {contact.phone} ({contact.status})")


@contacts_app.command("list")
def contacts_list(
    search: Annotated[str | None, typer.Option(help="Part of a number or a name.")] = None,
    list_name: Annotated[str | None, typer.Option("--list", help="Members of this list.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Contacts as a table."""
    from rich.table import Table
    from sqlalchemy import select

    from textcast.domain.audience import contacts
    from textcast.models import ContactList

    _, database = open_database()
    with database.read() as session:
        list_id = None
        if list_name is not None:
            list_id = session.scalar(select(ContactList.id).where(ContactList.name == list_name))
            if list_id is None:
                console.print(f"[bold red]error:[/] no list named {list_name!r}")
                raise typer.Exit(1)
        where = contacts.ContactFilter(search=search, list_id=list_id)
        rows = contacts.list_contacts(session, where, limit=limit)
    table = Table("id", "phone", "name", "country", "status")
    for c in rows:
        name = " ".join(n for n in (c.first_name, c.last_name) if n)
        table.add_row(str(c.id), c.phone, name, c.country or "", c.status)
    Console().print(table)


@contacts_app.command("erase")
def contacts_erase(
    contact_id: int,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase a contact's personal data everywhere (an opt-out's keyed hash stays)."""
    from textcast.config import instance_secret
    from textcast.domain.audience import erasure
    from textcast.domain.errors import NotFound

    if not yes:
        console.print("[bold red]error:[/] erasing cannot be undone; add --yes to confirm")
        raise typer.Exit(2)
    settings, database = open_database()
    try:
        with database.write() as session:
            erased = erasure.erase_contact(session, instance_secret(settings), contact_id)
            _audit(session, "contact.erase", f"contact:{contact_id}")
    except NotFound as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    kept = "; its opt-out is kept as a keyed hash" if erased.kept_suppression else ""
    console.print(
        f"contact {contact_id} erased: {erased.messages} messages scrubbed, {erased.inbound} "
        f"inbound messages and {erased.webhook_events} stored callbacks cleaned{kept}"
    )


@contacts_app.command("import")
def contacts_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a phone column.")
    ],
    list_name: Annotated[
        str | None, typer.Option("--list", help="Add the contacts to this list (made if new).")
    ] = None,
    default_region: Annotated[
        str | None,
        typer.Option(help="Country of national numbers like 0612345678 (DEFAULT_REGION)."),
    ] = None,
) -> None:
    """Import contacts from a CSV file, with a progress bar and a summary."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from textcast.config import instance_secret
    from textcast.domain.errors import InvalidInput
    from textcast.domain.imports import jobs as imports

    settings, database = open_database()
    try:
        with database.write() as session:
            job = imports.start_import(
                session,
                path=file,
                filename=file.name,
                default_region=default_region or settings.default_region,
                list_name=list_name,
            )
            _audit(session, "import.create", f"import:{job.id}", filename=file.name)
    except InvalidInput as exc:
        names = {"file": "FILE", "list": "--list", "default_region": "--default-region"}
        for problem in exc.problems:
            console.print(f"[red]{names.get(problem.field, problem.field)}[/]: {problem.message}")
        raise typer.Exit(1) from None
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"import {job.id}: {file.name}", total=job.bytes_total)

        def show(progress: imports.Progress) -> None:
            bar.update(
                task,
                completed=progress.bytes_read,
                description=f"import {job.id}: {progress.rows:,} rows",
            )

        done = imports.run_import(
            database, job.id, file, instance_secret(settings), on_progress=show
        )
    summary = Table(title=f"Import {done.id} of {done.filename}: {done.status}")
    summary.add_column("rows")
    summary.add_column("", justify="right")
    for label, count in (
        ("created", done.created),
        ("updated", done.updated),
        ("kept opted out (never re-subscribed)", done.kept_opted_out),
        ("duplicates in the file", done.duplicates),
        ("rejected", done.rejected),
    ):
        summary.add_row(label, f"{count:,}")
    summary.add_row("[bold]total", f"[bold]{done.rows:,}")
    if done.rejected:
        summary.caption = f"rejected rows with their line: /api/v1/imports/{done.id}/rejections.csv"
    Console().print(summary)
    if done.status != "completed":
        console.print(f"[bold red]import failed:[/] {done.error}")
        raise typer.Exit(1)


def main() -> None:
    app()
