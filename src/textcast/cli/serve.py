"""`textcast serve | worker | simulator | demo | db upgrade`: the processes textcast runs as,
and its database schema. The package registers these commands on the root app."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from textcast.cli.common import command_settings, console
from textcast.config import (
    Settings,
    SettingsError,
    check_webhook_authentication,
    webhook_secret,
)
from textcast.db import Database
from textcast.logs import configure_logging

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
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
    from textcast.domain.accounts.audit import CLI
    from textcast.migrate import ensure_schema
    from textcast.services import accounts

    database = Database(settings.database_url)
    try:
        ensure_schema(database)
        password = accounts.create_first_admin(database, CLI, settings.admin_email)
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


def worker(log_level: str = "info") -> None:
    """The dispatcher, the flow engine and the webhook sender alone (scale-out: `serve
    --no-dispatcher` elsewhere)."""
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
