"""The event stream in the API reference: one entry of OpenAPI's `webhooks` section per event
type of `stream.CATALOGUE`, with its envelope, each field's meaning and the example.

Built from the catalogue, so the reference cannot say other than what the stream sends.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI, status
from pydantic import BaseModel, ConfigDict, Field, create_model

from textcast.domain import stream
from textcast.domain.stream import EventSpec
from textcast.models import EventType

EXAMPLE_TIMESTAMP = "2026-12-07T15:04:05.123Z"
SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's id: the same on every retry and replay (deduplicate on it).",
        "schema": {"type": "string", "example": "msg_01JF8Z6Q4M6X2Y3V9R1T5N7K8P"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds of this attempt: refuse one far from your clock.",
        "schema": {"type": "string", "example": "1796655845"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}."
        "{body}` with the subscription's secret (Standard Webhooks; see docs/webhooks.md).",
        "schema": {"type": "string"},
    },
]


def _field_type(value: Any, meaning: str) -> Any:
    """The field's type, read from the example; null allowed where the meaning says so."""
    kind: Any = {bool: bool, int: int, float: float}.get(type(value), str)
    if value is None:
        kind = str | None
    elif "null" in meaning or "when known" in meaning or "when it gave one" in meaning:
        kind = kind | None
    return kind


def _camel(type_: EventType) -> str:
    return "".join(part.capitalize() for part in str(type_).replace(".", "_").split("_"))


def envelope_model(type_: EventType, spec: EventSpec) -> type[BaseModel]:
    name = _camel(type_)
    fields: dict[str, Any] = {
        field: (_field_type(spec.example.get(field), meaning), Field(description=meaning))
        for field, meaning in spec.fields.items()
    }
    data = create_model(f"{name}Data", __config__=ConfigDict(title=f"{type_} data"), **fields)
    literal: Any = Literal[str(type_)]
    model: type[BaseModel] = create_model(
        f"{name}Event",
        __config__=ConfigDict(title=f"{type_} event"),
        __doc__=spec.summary,
        type=(literal, Field(description="The event type.")),
        timestamp=(datetime, Field(description="When it happened: UTC, milliseconds.")),
        data=(data, Field(description="What happened (fields below).")),
    )
    return model


def example(type_: EventType, spec: EventSpec) -> dict[str, Any]:
    return {"type": str(type_), "timestamp": EXAMPLE_TIMESTAMP, "data": spec.example}


def add_examples(openapi: dict[str, Any]) -> dict[str, Any]:
    """Each event's example, put in the finished document: FastAPI drops the nulls of what it
    encodes, and an example's null fields (`"keyword": null`) are part of what it shows."""
    schemas = openapi.get("components", {}).get("schemas", {})
    for type_, spec in stream.CATALOGUE.items():
        found = schemas.get(f"{_camel(type_)}Event")
        if found is not None:
            found["examples"] = [example(type_, spec)]
    return openapi


def document_event_stream(app: FastAPI) -> None:
    """Each event type as an OpenAPI webhook: what textcast posts to a subscription."""
    for type_, spec in stream.CATALOGUE.items():
        model = envelope_model(type_, spec)

        def receive(body: BaseModel) -> None:
            """Documentation only: textcast calls the subscriber's URL."""

        receive.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model)]
        )
        app.webhooks.add_api_route(
            str(type_),
            receive,
            methods=["POST"],
            name=str(type_),
            operation_id=f"event_{str(type_).replace('.', '_')}",
            summary=str(type_),
            description=spec.summary
            + "\n\nAnswer 2xx within WEBHOOK_TIMEOUT_SECONDS. A 5xx, a 429, a timeout or a "
            "connection error is retried; any other 4xx fails the delivery at once.",
            tags=["event stream"],
            status_code=status.HTTP_200_OK,
            response_description="Received: any 2xx.",
            openapi_extra={"parameters": SIGNATURE_HEADERS},
        )
