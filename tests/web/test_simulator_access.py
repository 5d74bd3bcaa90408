"""Who reaches the embedded Sinch simulator (issue 12, item 2): this server's own Sinch client,
with a token nobody outside knows, and signed-in admins; and its callbacks go to this server's
own webhooks only, so that it signs nothing for anyone else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import make_api_key

from textcast.config import Settings, load_settings, webhook_secret
from textcast.db import Database
from textcast.models import Role
from textcast.runtime import simulator_token
from textcast.web.app import create_app
from textcast.webhook_urls import DELIVERY_REPORTS, callback_url

BATCHES = "/simulator/xms/v1/simulated/batches"
LEDGER = "/simulator/_simulator/ledger"
WELL_KNOWN = {"Authorization": "Bearer simulated-token"}
FOREIGN = "http://169.254.169.254/latest/meta-data/iam"


@pytest.fixture
def simulated(database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    """The app as `make run` serves it without Sinch credentials: the simulator mounted."""
    settings = load_settings(database_url=database_url, secret_key="access-tests")
    with TestClient(create_app(settings, dispatch=False)) as client:
        yield client, settings


def _batch(**fields: str) -> dict[str, object]:
    return {"to": ["+12015550100"], "body": "Hi", "delivery_report": "per_recipient", **fields}


def test_the_well_known_token_lists_posts_and_cancels_nothing(
    simulated: tuple[TestClient, Settings], database: Database
) -> None:
    client, _ = simulated
    attempts = [
        client.get(BATCHES, headers=WELL_KNOWN),
        client.post(BATCHES, json=_batch(callback_url=FOREIGN), headers=WELL_KNOWN),
        client.delete(f"{BATCHES}/01JHFFHQ0P99JPPNQPJDV7JTBP", headers=WELL_KNOWN),
        client.get(LEDGER, headers=WELL_KNOWN),
    ]
    assert [a.status_code for a in attempts] == [401] * 4
    admin = {"X-API-Key": make_api_key(database, Role.ADMIN)}
    assert client.get(LEDGER, headers=admin).json()["batches"] == 0


def test_a_batch_calling_back_elsewhere_is_refused_even_with_the_servers_own_token(
    simulated: tuple[TestClient, Settings],
) -> None:
    """The SSRF and signing oracle: a callback_url of the caller's choice. Only this server's
    own webhook URLs are taken."""
    client, settings = simulated
    own = {"Authorization": f"Bearer {simulator_token(settings)}"}
    refused = client.post(BATCHES, json=_batch(callback_url=FOREIGN), headers=own)
    assert refused.status_code == 400
    assert refused.json()["code"] == "syntax_invalid_parameter_format"
    assert "'callback_url'" in refused.json()["text"]
    ours = callback_url(settings, DELIVERY_REPORTS)
    accepted = client.post(BATCHES, json=_batch(callback_url=ours), headers=own)
    assert accepted.status_code == 201, accepted.text
    assert client.get(BATCHES, headers=own).json()["count"] == 1


def test_without_the_servers_token_only_an_admin_gets_through(
    simulated: tuple[TestClient, Settings], database: Database
) -> None:
    client, _ = simulated
    editor = {"X-API-Key": make_api_key(database, Role.EDITOR)}
    admin = {"X-API-Key": make_api_key(database, Role.ADMIN)}
    assert client.get(BATCHES).status_code == 401
    assert client.get(BATCHES, headers=editor).status_code == 403
    assert client.post(BATCHES, json=_batch(), headers=editor).status_code == 403
    # An admin passes the mount; the Sinch API then still wants its own token.
    assert client.get(BATCHES, headers=admin).status_code == 401
    assert client.get(LEDGER, headers=admin).status_code == 200


def test_the_token_and_webhook_secret_are_shared_by_an_installations_processes_only() -> None:
    """`serve --workers N`: each process derives the same ones from the instance secret."""
    one, same = (load_settings(secret_key="installation-a") for _ in range(2))
    other = load_settings(secret_key="installation-b")
    assert simulator_token(one) == simulator_token(same) != simulator_token(other)
    assert webhook_secret(one) == webhook_secret(same) != webhook_secret(other)
    assert simulator_token(one) != webhook_secret(one)
    assert simulator_token(one) != "simulated-token"
    assert "installation-a" not in f"{simulator_token(one)} {webhook_secret(one)}"
    assert webhook_secret(load_settings(secret_key="a", sinch_webhook_secret="set")) == "set"
    assert webhook_secret(load_settings(secret_key="a", webhook_path_token="t" * 32)) is None
