"""The database keeps no password, API key or session token in a recoverable form."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import MetaData, select
from tests.factories import make_api_key
from tests.web.apps import app_client, post_sign_in
from typer.testing import CliRunner

from textcast.cli import app as cli
from textcast.db import Database
from textcast.models import Role


def _everything_stored(database: Database) -> str:
    """Every value of every row of every table, as text."""
    metadata = MetaData()
    metadata.reflect(database.engine)
    values: list[str] = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                values += [str(value) for value in row]
    return "\n".join(values)


def test_passwords_keys_and_sessions_are_stored_as_one_way_digests(database_url: str) -> None:
    database = Database(database_url)
    bootstrap = make_api_key(database, Role.ADMIN)
    cli_user = CliRunner().invoke(
        cli,
        ["users", "create", "cli-user@example.com", "--generate"],
        env={"DATABASE_URL": database_url},
    )
    cli_password = re.search(r"password \(shown once\): (\S+)", cli_user.output)
    assert cli_password is not None, cli_user.output
    cli_key = CliRunner().invoke(
        cli,
        ["apikeys", "create", "--name", "ci", "--scope", "admin"],
        env={"DATABASE_URL": database_url},
    )
    assert cli_key.exit_code == 0, cli_key.output
    printed_key = cli_key.stdout.strip().splitlines()[-1]
    chosen = "a chosen password 123"
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = bootstrap
        made = client.post(
            "/api/v1/users", json={"email": "ana@example.com", "password": chosen, "role": "editor"}
        )
        assert made.status_code == 201
        generated = client.post("/api/v1/users", json={"email": "bo@example.com"}).json()[
            "password"
        ]
        api_key = client.post("/api/v1/apikeys", json={"name": "n", "scopes": ["read"]}).json()[
            "key"
        ]
        del client.headers["X-API-Key"]
        post_sign_in(client, "ana@example.com", chosen)
        session_token = client.cookies["textcast_session"]
    stored = _everything_stored(database)
    for secret in (
        bootstrap,
        printed_key,
        api_key,
        chosen,
        generated,
        cli_password[1],
        session_token,
    ):
        assert secret not in stored
        if secret.startswith("tc_"):
            # Nor the random part of a key on its own (`tc_{prefix}_{random}`).
            assert secret.split("_", 2)[2] not in stored
    hashes = re.findall(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert len(hashes) >= 4
    assert all(int(m) >= 19 * 1024 and int(t) >= 2 and int(p) == 1 for m, t, p in hashes)
    database.dispose()
    if database_url.startswith("sqlite"):
        # The raw file and its write-ahead log too, not only what SQL returns.
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in (api_key, chosen, session_token):
            assert secret.encode() not in raw
