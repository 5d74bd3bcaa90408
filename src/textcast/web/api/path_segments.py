"""Typed path segments: a route's `{name:kind}` that matches only what `kind` allows.

Without them `DELETE /x/{name}` also matches `/x/some-action` (a sibling POST route), so the
action's path answers and advertises DELETE too. One registration per kind, by pattern.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class _Text(Convertor[str]):
    regex = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def path_segment(kind: str, pattern: str) -> None:
    """Let routes say `{field:kind}` for a segment matching `pattern` (a regular expression)."""
    matching = type(f"{kind}_segment", (_Text,), {"regex": pattern})
    register_url_convertor(kind, matching())


path_segment("setting_name", "[A-Za-z0-9_]+")
"""A setting's name (`SEND_RATE`, any case): never `sinch-check`."""
path_segment("session_id", "[0-9a-f]+")
"""A session's public id (lowercase hex): never `end-others`."""
path_segment("form_id", "[0-9]+")
"""A sign-up form's id: never `preview` (`POST /api/v1/forms/preview`)."""
path_segment("flow_id", "[0-9]+")
"""A flow's id: never `templates` (`GET /api/v1/flows/templates`)."""
path_segment("contact_id", "[0-9]+")
"""A contact's id in `/api/v1/conversations/{contact_id}`: never `unread` or `by-id`."""
