"""Delivery report bodies and which callbacks each report mode sends (docs/sinch.md,
"Delivery report types and callbacks")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from textcast.simulator.batches import Batch, Delivery
from textcast.simulator.encoding import measure_body
from textcast.simulator.ids import format_timestamp, format_whole_seconds
from textcast.simulator.statuses import StatusTable

JSONObject = dict[str, Any]


class CallbackSink(Protocol):
    def submit(self, url: str, payload: JSONObject, kind: str) -> None: ...


def recipient_report(
    table: StatusTable, batch: Batch, delivery: Delivery, index: int
) -> JSONObject:
    entry = table[delivery.states[index]]
    at = delivery.at_of(index)
    report: JSONObject = {
        "type": "recipient_delivery_report_sms",
        "batch_id": batch.id,
        "recipient": delivery.recipients[index],
        "code": entry.code,
        "status": entry.status,
        "at": format_timestamp(at),
    }
    if entry.operator:
        report["operator_status_at"] = format_whole_seconds(at)
    if batch.client_reference is not None:
        report["client_reference"] = batch.client_reference
    if batch.spec.max_parts is not None:
        body = batch.spec.template().render(delivery.recipients[index]) or ""
        report["number_of_message_parts"] = measure_body(body).parts
    return report


def batch_report(
    table: StatusTable,
    batch: Batch,
    *,
    now: float,
    full: bool,
    states: set[int] | None = None,
) -> JSONObject:
    delivery = batch.delivery
    visible = delivery.visible(now)
    counts = Counter(delivery.states) if visible else Counter[int]()
    chosen = sorted(
        (s for s in counts if states is None or s in states), key=lambda s: table[s].code
    )
    groups: dict[int, list[str]] = {s: [] for s in chosen}
    if full and chosen:
        for recipient, state in zip(delivery.recipients, delivery.states, strict=True):
            if state in groups:
                groups[state].append(recipient)
    statuses = []
    for state in chosen:
        item: JSONObject = {
            "code": table[state].code,
            "status": table[state].status,
            "count": counts[state],
        }
        if full:
            item["recipients"] = groups[state]
        statuses.append(item)
    report: JSONObject = {
        "type": "delivery_report_sms",
        "batch_id": batch.id,
        "total_message_count": sum(counts.values()),
        "statuses": statuses,
    }
    if batch.client_reference is not None:
        report["client_reference"] = batch.client_reference
    return report


class ReportPublisher:
    """Turns state changes into the callbacks the batch's `delivery_report` mode asks for."""

    def __init__(self, table: StatusTable, sink: CallbackSink, default_url: str | None) -> None:
        self._table = table
        self._sink = sink
        self._default_url = default_url

    def changed(self, delivery: Delivery, indices: Iterable[int], *, final: bool) -> None:
        """Recipients at `indices` just reached a new status (all final, or all not)."""
        batch = delivery.batch
        mode = batch.spec.delivery_report
        if mode != "per_recipient" and not (final and mode == "per_recipient_final"):
            return
        url = batch.spec.callback_url or self._default_url
        if url is None:
            return
        for index in indices:
            report = recipient_report(self._table, batch, delivery, index)
            self._sink.submit(url, report, "recipient_delivery_report")

    def completed(self, delivery: Delivery, now: float) -> None:
        batch = delivery.batch
        mode = batch.spec.delivery_report
        url = batch.spec.callback_url or self._default_url
        if mode not in ("summary", "full") or url is None or batch.delivery is not delivery:
            return
        report = batch_report(self._table, batch, now=now, full=mode == "full")
        self._sink.submit(url, report, "delivery_report")
