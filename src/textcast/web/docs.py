"""`/docs` and `/openapi.json`, for signed-in users and API keys.

Swagger UI's files are served from this app (no CDN), and its start-up code is a static
file too: the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from textcast.domain.permissions import Permission
from textcast.web.auth import guard

ASSETS = "/docs/assets"
OPENAPI_URL = "/openapi.json"


def install_docs(app: FastAPI) -> None:
    """Needs the app built with `openapi_url=None, docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

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
  <link rel="icon" href="{assets}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/openapi.json"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""
