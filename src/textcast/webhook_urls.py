"""Where Sinch posts its callbacks: the paths the webhook endpoints are served at (under the
secret path token when one is set) and the public URLs handed to Sinch and to the simulator.
Its own module, below both, so that the runtime (which gives the dispatcher its callback URL)
and the web app (which serves the endpoints) need not import each other."""

from __future__ import annotations

from urllib.parse import quote

from textcast.config import Settings

WEBHOOKS_PREFIX = "/api/webhooks"
DELIVERY_REPORTS = "delivery-reports"
INBOUND = "inbound"


def webhook_path(settings: Settings, name: str) -> str:
    """The path Sinch posts `name` callbacks to: under the path token when one is set."""
    token = path_token(settings)
    if token is None:
        return f"{WEBHOOKS_PREFIX}/{name}"
    return f"{WEBHOOKS_PREFIX}/{token}/{name}"


def callback_url(settings: Settings, name: str) -> str:
    """The public URL textcast hands to Sinch (or to the simulator) for `name` callbacks."""
    return settings.public_url + quote(webhook_path(settings, name))


def path_token(settings: Settings) -> str | None:
    token = settings.webhook_path_token
    return token.get_secret_value() if token is not None and token.get_secret_value() else None
