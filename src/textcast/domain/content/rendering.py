"""What a campaign's recipients receive: its template after smart encoding and short links.

Launch, the plan and the dispatcher all go through here, so the text counted and priced
before sending is the text Sinch gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from textcast.domain.content import encoding, templates
from textcast.domain.content.links import LINK_FIELD, find_urls
from textcast.domain.content.templates import Template


@dataclass(frozen=True, slots=True)
class Outgoing:
    template: Template
    """With smart encoding applied to its text and links as fields `link.N`."""
    urls: tuple[str, ...]
    smart_encoding: bool

    @property
    def is_static(self) -> bool:
        return self.template.is_static

    def values_for(
        self, data: Mapping[str, Any], links: Mapping[str, str] | None = None
    ) -> dict[str, str] | None:
        """Sinch parameter values for one recipient (None: a merge field has no value).

        `links` gives the short link per `link.N` key."""
        merged = {**data, **links} if links else data
        values = self.template.values_for(merged)
        if values is None or not self.smart_encoding:
            return values
        return {
            key: value if key.startswith(f"{LINK_FIELD}.") else encoding.smart_encode(value)
            for key, value in values.items()
        }

    def render(self, values: Mapping[str, str]) -> str:
        return self.template.render(values)


@lru_cache(maxsize=256)
def outgoing(body: str, smart_encoding: bool, short_links: bool) -> Outgoing:
    """The campaign body as sent. Raises `TemplateError` for a malformed body."""
    template = templates.parse(body)
    urls = find_urls(body) if short_links else []
    template = template.with_fields_for(urls, LINK_FIELD)
    if smart_encoding:
        template = Template(
            template.source,
            tuple(
                encoding.smart_encode(piece) if isinstance(piece, str) else piece
                for piece in template.pieces
            ),
        )
    return Outgoing(template, tuple(urls), smart_encoding)


def link_keys(out: Outgoing) -> list[str]:
    return [f"{LINK_FIELD}.{index}" for index in range(len(out.urls))]
