"""`create_app(settings)`: the one FastAPI app (API, tutorial endpoint, webhooks, health)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from textcast import __version__
from textcast.config import Settings, check_webhook_authentication, webhook_secret
from textcast.db import Database
from textcast.migrate import ensure_schema
from textcast.runtime import SIMULATOR_MOUNT, SIMULATOR_PLAN_ID, Runtime, simulator_token
from textcast.services.signups import FormActivity, FormCache, SubmissionGroups
from textcast.simulator import SimulatorConfig
from textcast.simulator import create_app as create_simulator_app
from textcast.web import health, join, links
from textcast.web.api import (
    ab_tests,
    accounts,
    analytics,
    campaign_messages,
    campaigns,
    compat,
    contacts,
    conversations,
    encoding,
    forms,
    hygiene,
    imports,
    inbox,
    keywords,
    lists,
    previews,
    webhooks,
)
from textcast.web.api import consent as consent_api
from textcast.web.api import events as events_api
from textcast.web.api import flows as flows_api
from textcast.web.api import (
    settings as settings_api,
)
from textcast.web.api import (
    simulator as simulator_api,
)
from textcast.web.api.event_schemas import add_examples, document_event_stream
from textcast.web.auth import AdminOnlyUnder
from textcast.web.dashboard import install_dashboard
from textcast.web.docs import ASSETS as DOCS_ASSETS
from textcast.web.docs import install_docs
from textcast.web.errors import document_problems, install_error_handlers
from textcast.web.rate_limits import RateLimits
from textcast.web.security import BodyLimit, RelativeRedirects, SecurityHeaders
from textcast.web.simulator_gateway import SimulatorGateway
from textcast.web.webhooks import WebhookEndpoint, basic_auth_credentials, webhook_endpoints
from textcast.webhook_urls import DELIVERY_REPORTS, INBOUND, callback_url

STATIC = Path(__file__).parent / "static"

log = logging.getLogger("textcast")


class TextcastApp(FastAPI):
    """FastAPI, with Sinch's webhooks answered before routing and middleware (the hot path)."""

    def __init__(self, *, fast_paths: dict[str, WebhookEndpoint], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_paths = fast_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (endpoint := self.fast_paths.get(scope["path"])):
            await endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = add_examples(document_problems(super().openapi()))
        return self.openapi_schema


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    dispatch: bool = True,
    simulator: bool | None = None,
    simulator_config: SimulatorConfig | None = None,
) -> FastAPI:
    """`simulator=None` mounts the Sinch simulator exactly when no Sinch credentials are set.

    Raises SettingsError when real Sinch credentials come with anonymous webhooks."""
    check_webhook_authentication(settings)
    runtime = Runtime(settings, database or Database(settings.database_url))
    with_simulator = settings.uses_simulator if simulator is None else simulator
    simulator_app = _simulator_app(settings, simulator_config) if with_simulator else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.webhook_authentication and not settings.uses_simulator:
            # Only WEBHOOKS_UNAUTHENTICATED lets this through (check_webhook_authentication).
            log.warning(
                "WEBHOOKS_UNAUTHENTICATED=true: the webhooks accept callbacks from anyone, "
                "including fake STOP, START and HELP messages; set SINCH_WEBHOOK_SECRET, "
                "WEBHOOK_BASIC_AUTH or WEBHOOK_PATH_TOKEN"
            )
        ensure_schema(runtime.database)
        async with contextlib.AsyncExitStack() as stack:
            if simulator_app is not None:
                await stack.enter_async_context(
                    simulator_app.router.lifespan_context(simulator_app)
                )
            await stack.enter_async_context(runtime.running(dispatch=dispatch))
            yield
        await app.state.signup_groups.aclose()
        app.state.form_activity.flush()
        runtime.database.dispose()

    app = TextcastApp(
        fast_paths=webhook_endpoints(runtime),
        title="textcast",
        version=__version__,
        summary="Self-hosted SMS marketing campaigns on Sinch.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.rate_limits = RateLimits(settings)
    app.state.form_activity = FormActivity(runtime.database)
    app.state.signup_groups = SubmissionGroups(runtime.database, lambda: runtime.signup_policy)
    app.state.signup_forms = FormCache(runtime.database)
    app.state.simulator = (
        # With SINCH_BASE_URL, messages go to a `textcast simulator` of its own, not this one.
        SimulatorGateway(simulator_app, plan=SIMULATOR_PLAN_ID, token=simulator_token(settings))
        if simulator_app is not None and not settings.sinch_base_url
        else None
    )
    app.add_middleware(
        BodyLimit,
        limit=settings.max_request_bytes,
        large_limit=settings.max_import_bytes,
        large_paths=(imports.router.prefix,),
    )
    app.add_middleware(RelativeRedirects)
    app.add_middleware(
        SecurityHeaders, cacheable=("/static/", f"{DOCS_ASSETS}/"), framable=("/join/",)
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_handlers(app)
    install_docs(app)
    app.include_router(health.router)
    # First: the public form is the one busy route (each request tries the routes in order).
    app.include_router(join.router)
    install_dashboard(app)
    app.include_router(accounts.router)
    app.include_router(campaigns.router)
    app.include_router(campaign_messages.router)
    app.include_router(ab_tests.router)
    app.include_router(contacts.router)
    app.include_router(lists.router)
    app.include_router(keywords.router)
    app.include_router(flows_api.router)
    app.include_router(events_api.router)
    app.include_router(forms.router)
    app.include_router(imports.router)
    app.include_router(inbox.router)
    app.include_router(conversations.router)
    app.include_router(compat.router)
    app.include_router(encoding.router)
    app.include_router(analytics.router)
    app.include_router(previews.router)
    app.include_router(settings_api.router)
    app.include_router(simulator_api.router)
    app.include_router(links.router)
    app.include_router(consent_api.router)
    app.include_router(hygiene.router)
    app.include_router(webhooks.router)
    document_event_stream(app)
    app.include_router(join.preview_router)
    if simulator_app is not None:
        app.mount(
            SIMULATOR_MOUNT,
            AdminOnlyUnder(simulator_app, "/_simulator/", own_token=simulator_token(settings)),
            name="simulator",
        )
    return app


def _simulator_app(settings: Settings, tuning: SimulatorConfig | None) -> Starlette:
    """The simulator as this process's Sinch: same plan, token, callbacks and secret.

    Its callbacks go to this server's own webhooks only, so that its signature cannot be had
    for a body and an address of someone else's choosing."""
    own_callbacks = (callback_url(settings, DELIVERY_REPORTS), callback_url(settings, INBOUND))
    return create_simulator_app(
        dataclasses.replace(
            tuning or SimulatorConfig(),
            service_plan_id=SIMULATOR_PLAN_ID,
            api_token=simulator_token(settings),
            default_callback_url=own_callbacks[0],
            inbound_callback_url=own_callbacks[1],
            allowed_callback_urls=frozenset(own_callbacks),
            webhook_secret=webhook_secret(settings),
            callback_basic_auth=basic_auth_credentials(settings),
        )
    )
