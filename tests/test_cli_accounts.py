"""`textcast users`, `apikeys`, `audit`, and the first admin `serve` makes."""

from __future__ import annotations

import os
import pty
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import free_port
from tests.web.apps import app_client, post_sign_in
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain.accounts import audit

runner = CliRunner()


def test_users_and_keys_from_the_command_line_work_against_the_api(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    missing = runner.invoke(app, ["apikeys", "create", "--name", "ci"], env=env)
    assert missing.exit_code == 1 and "textcast users create --admin" in missing.output
    made = runner.invoke(app, ["users", "create", "--admin", "ops@example.com"], env=env)
    assert made.exit_code == 0, made.output
    assert "ops@example.com (admin)" in made.output and "password (shown once)" in made.output
    dup = runner.invoke(app, ["users", "create", "ops@example.com"], env=env)
    assert dup.exit_code == 1 and "already exists" in dup.output
    created = runner.invoke(app, ["apikeys", "create", "--name", "ci", "--scope", "admin"], env=env)
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"tc_[0-9a-f]{8}_[\w-]{40,}", key)
    with app_client(database_url) as client:
        me = client.get("/api/v1/me", headers={"X-API-Key": key}).json()
        assert (me["email"], me["role"]) == ("ops@example.com", "admin")
        revoked = runner.invoke(app, ["apikeys", "revoke", "1"], env=env)
        assert revoked.exit_code == 0
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    listed = runner.invoke(app, ["apikeys", "list"], env=env)
    assert "revoked" in listed.output and key not in listed.output
    trail = runner.invoke(app, ["audit"], env=env)
    assert trail.exit_code == 0
    for action in ("user.create", "apikey.create", "apikey.revoke"):
        assert action in trail.output


def test_a_key_cannot_be_given_more_than_its_owner_s_role(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    runner.invoke(app, ["users", "create", "--admin", "ops@example.com"], env=env)
    runner.invoke(app, ["users", "create", "viewer@example.com", "--role", "viewer"], env=env)
    answer = runner.invoke(
        app,
        ["apikeys", "create", "--name", "x", "--scope", "send", "--user", "viewer@example.com"],
        env=env,
    )
    assert answer.exit_code == 1 and "more than the owner is allowed" in answer.output


def _serve_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "PORT": str(free_port()),
        "SECRET_KEY_FILE": str(tmp_path / "secret"),
        "ADMIN_EMAIL": "owner@example.com",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


def _serve_until_ready(env: dict[str, str], cwd: Path, terminal: bool = False) -> str:
    """What `textcast serve` writes until it is ready: into a pipe (as to a log), or to a
    terminal."""
    if terminal:
        reader, writer = pty.openpty()
        output = os.fdopen(reader, "r", errors="replace")
        target: int = writer
    else:
        reader, writer = os.pipe()
        output = os.fdopen(reader, "r")
        target = writer
    process = subprocess.Popen(
        [sys.executable, "-m", "textcast", "serve", "--no-dispatcher"],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=target,
        stderr=target,
        text=True,
    )
    os.close(writer)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        for line in output:
            lines.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
    finally:
        process.terminate()
        process.wait(30)
        output.close()
    return "".join(lines)


def test_serve_on_an_empty_database_hands_the_first_admin_s_password_to_a_file_not_the_log(
    tmp_path: Path,
) -> None:
    env = _serve_env(tmp_path)
    first = _serve_until_ready(env, tmp_path)
    assert "FIRST ADMIN CREATED" in first and "owner@example.com" in first
    written = tmp_path / ".textcast-admin-password"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert str(written) in first  # where it is, not what
    password = re.search(r"password: (\S+)", written.read_text())
    assert password is not None and len(password[1]) >= 16
    assert password[1] not in first
    second = _serve_until_ready(env, tmp_path)
    assert "FIRST ADMIN CREATED" not in second and password[1] not in second
    with app_client(env["DATABASE_URL"]) as client:
        assert post_sign_in(client, "owner@example.com", password[1]).status_code == 303


def test_serve_on_an_empty_database_shows_the_first_admin_s_password_on_a_terminal(
    tmp_path: Path,
) -> None:
    env = _serve_env(tmp_path)
    first = _serve_until_ready(env, tmp_path, terminal=True)
    assert "FIRST ADMIN CREATED" in first
    password = re.search(r"password: (\S+)", first)
    assert password is not None
    assert not (tmp_path / ".textcast-admin-password").exists()
    with app_client(env["DATABASE_URL"]) as client:
        assert post_sign_in(client, "owner@example.com", password[1]).status_code == 303


def test_a_forgotten_password_is_reset_and_a_user_disabled_from_the_command_line(
    database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url}
    runner.invoke(app, ["users", "create", "--admin", "ops@example.com"], env=env)
    runner.invoke(app, ["users", "create", "ed@example.com", "--role", "editor"], env=env)
    reset = runner.invoke(app, ["users", "update", "ops@example.com", "--password"], env=env)
    assert reset.exit_code == 0, reset.output
    password = re.search(r"password \(shown once\): (\S+)", reset.output)
    assert password is not None
    with app_client(database_url) as client:
        assert post_sign_in(client, "ops@example.com", password[1]).status_code == 303
    last_admin = runner.invoke(app, ["users", "update", "ops@example.com", "--disable"], env=env)
    assert last_admin.exit_code == 1 and "last active admin" in last_admin.output
    disabled = runner.invoke(
        app, ["users", "update", "ed@example.com", "--disable", "--role", "viewer"], env=env
    )
    assert disabled.exit_code == 0 and "(viewer, disabled)" in disabled.output
    missing = runner.invoke(app, ["users", "update", "nobody@example.com", "--enable"], env=env)
    assert missing.exit_code == 1 and "nobody@example.com" in missing.output
    trail = runner.invoke(app, ["audit", "--action", "user.update"], env=env)
    assert trail.output.count("user.update") == 2


def test_a_password_reset_from_the_command_line_revokes_keys_when_asked(
    database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url}
    runner.invoke(app, ["users", "create", "--admin", "ops@example.com"], env=env)
    created = runner.invoke(app, ["apikeys", "create", "--name", "ci", "--scope", "admin"], env=env)
    key = created.stdout.strip().splitlines()[-1]
    kept = runner.invoke(app, ["users", "update", "ops@example.com", "--password"], env=env)
    assert kept.exit_code == 0, kept.output
    assert "1 API key of this user still works; add --revoke-keys" in kept.output
    with app_client(database_url) as client:
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
        revoked = runner.invoke(
            app, ["users", "update", "ops@example.com", "--password", "--revoke-keys"], env=env
        )
        assert revoked.exit_code == 0, revoked.output
        assert "API keys revoked: 1" in revoked.output
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    database = Database(database_url)
    with database.read() as session:
        details = [e.detail for e in audit.entries(session, action="user.update")]
    database.dispose()
    assert details == [
        {"password_changed": True, "api_keys_revoked": 1},
        {"password_changed": True},
    ]


def test_users_are_listed_with_their_role_and_state(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "COLUMNS": "200"}
    for arguments in (
        ["ops@example.com", "--admin"],
        ["ed@example.com", "--role", "editor"],
        ["vi@example.com", "--role", "viewer"],
        ["gone@example.com", "--role", "editor"],
    ):
        made = runner.invoke(app, ["users", "create", *arguments], env=env)
        assert made.exit_code == 0, made.output
    disabled = runner.invoke(app, ["users", "update", "gone@example.com", "--disable"], env=env)
    assert disabled.exit_code == 0, disabled.output
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = [
        [cell.strip() for cell in line.split("│")[2:-1]]
        for line in listed.output.splitlines()
        if "@example.com" in line
    ]
    assert rows == [
        ["ops@example.com", "admin", "active", "never"],
        ["ed@example.com", "editor", "active", "never"],
        ["vi@example.com", "viewer", "active", "never"],
        ["gone@example.com", "editor", "disabled", "never"],
    ]
