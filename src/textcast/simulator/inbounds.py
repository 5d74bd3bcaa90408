"""Mobile-originated messages injected by tests, as Sinch stores and forwards them (docs/sinch.md,
"Delivery report types and callbacks")."""

from __future__ import annotations

from typing import Any

from textcast.simulator.ids import format_timestamp, new_id

JSONObject = dict[str, Any]


class Inbounds:
    def __init__(self) -> None:
        self._by_id: dict[str, JSONObject] = {}
        self._received: dict[str, float] = {}

    def add(
        self,
        sender: str,
        to: str,
        body: str,
        *,
        at: float,
        client_reference: str | None = None,
        operator_id: str | None = None,
    ) -> JSONObject:
        message: JSONObject = {
            "type": "mo_text",
            "id": new_id(at),
            "from": sender.removeprefix("+"),
            "to": to.removeprefix("+"),
            "body": body,
            "received_at": format_timestamp(at),
        }
        if operator_id is not None:
            message["operator_id"] = operator_id
        if client_reference is not None:
            message["client_reference"] = client_reference
        self._by_id[message["id"]] = message
        self._received[message["id"]] = at
        return message

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, inbound_id: str) -> JSONObject | None:
        return self._by_id.get(inbound_id)

    def select(
        self,
        *,
        start: float,
        end: float | None,
        to: set[str] | None,
        client_reference: str | None,
    ) -> list[JSONObject]:
        """Newest first."""
        chosen = []
        for inbound_id in reversed(self._by_id):
            message, at = self._by_id[inbound_id], self._received[inbound_id]
            if at < start or (end is not None and at >= end):
                continue
            if to is not None and message["to"] not in to:
                continue
            if client_reference is not None and message.get("client_reference") != client_reference:
                continue
            chosen.append(message)
        return chosen

    def clear(self) -> None:
        self._by_id.clear()
        self._received.clear()
