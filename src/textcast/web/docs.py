"""`/docs` and `/openapi.json`, for signed-in users and API keys.

Swagger UI's files are served from this app (no CDN), and its start-up code is a static
file too: the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from textcast.domain.accounts.permissions import Permission
from textcast.web.auth import guard

ASSETS = "/docs/assets"
# Swagger UI 5 (OpenAPI 3.1, which FastAPI writes), as shipped inside the fastapi-offline wheel.
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).parent / "static"
OPENAPI_URL = "/openapi.json"


def install_docs(app: FastAPI) -> None:
    """Needs the app built with `openapi_url=None, docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI_FILES), name="docs-assets")

    @app.get(OPENAPI_URL, include_in_schema=False, dependencies=[guard(Permission.READ)])
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False, dependencies=[guard(Permission.READ)])
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=escape(f"{app.title} API"), assets=ASSETS))


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" href="{assets}/favicon.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/openapi.json"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""
