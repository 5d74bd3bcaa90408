"""The xms read side: delivery reports and inbound messages (docs/sinch.md, "Reading reports and
inbounds")."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from textcast.simulator.batches import Batch, Delivery
from textcast.simulator.errors import ApiError
from textcast.simulator.inputs import (
    authorized,
    paging,
    query_codes,
    query_csv,
    query_window,
    simulator,
)
from textcast.simulator.reports import batch_report, recipient_report
from textcast.simulator.xms_batches import PREFIX, find_batch


def _state_filter(request: Request) -> set[int] | None:
    statuses, codes = query_csv(request, "status"), query_codes(request)
    if statuses is None and codes is None:
        return None
    return simulator(request).table.matching(statuses, codes)


async def get_batch_report(request: Request) -> Response:
    batch = find_batch(request)
    report_type = request.query_params.get("type", "summary")
    if report_type not in ("summary", "full"):
        raise ApiError(
            400, "syntax_invalid_parameter_format", f"'{report_type}' is not a valid report type"
        )
    state = simulator(request)
    report = batch_report(
        state.table,
        batch,
        now=state.clock(),
        full=report_type == "full",
        states=_state_filter(request),
    )
    return JSONResponse(report)


async def get_recipient_report(request: Request) -> Response:
    batch = find_batch(request)
    state = simulator(request)
    delivery = batch.delivery
    index = delivery.index_of(request.path_params["recipient"])
    if index is None or not delivery.visible(state.clock()):
        raise HTTPException(404)
    return JSONResponse(recipient_report(state.table, batch, delivery, index))


async def list_recipient_reports(request: Request) -> Response:
    """Finished (final) recipient reports across batches, newest batch first."""
    state = simulator(request)
    page, page_size = paging(request)
    start, end = query_window(request)
    wanted = _state_filter(request)
    reference = request.query_params.get("client_reference")
    now = state.clock()
    found: list[tuple[Batch, Delivery, int]] = []
    for batch in state.batches_newest_first():
        delivery = batch.delivery
        if (reference is not None and batch.client_reference != reference) or not delivery.visible(
            now
        ):
            continue
        for index, value in enumerate(delivery.states):
            if not state.table[value].final or (wanted is not None and value not in wanted):
                continue
            at = delivery.at_of(index)
            if at >= start and (end is None or at < end):
                found.append((batch, delivery, index))
    items = found[page * page_size : (page + 1) * page_size]
    reports = [recipient_report(state.table, b, d, i) for b, d, i in items]
    return JSONResponse(
        {"count": len(found), "page": page, "page_size": len(reports), "delivery_reports": reports}
    )


async def list_inbounds(request: Request) -> Response:
    state = simulator(request)
    page, page_size = paging(request)
    start, end = query_window(request)
    to = query_csv(request, "to")
    chosen = state.inbounds.select(
        start=start,
        end=end,
        to=None if to is None else {t.removeprefix("+") for t in to},
        client_reference=request.query_params.get("client_reference"),
    )
    items = chosen[page * page_size : (page + 1) * page_size]
    return JSONResponse(
        {"count": len(chosen), "page": page, "page_size": len(items), "inbounds": items}
    )


async def get_inbound(request: Request) -> Response:
    message = simulator(request).inbounds.get(request.path_params["inbound_id"])
    if message is None:
        raise HTTPException(404)
    return JSONResponse(message)


routes = [
    Route(f"{PREFIX}/batches/{{batch_id}}/delivery_report", authorized(get_batch_report)),
    Route(
        f"{PREFIX}/batches/{{batch_id}}/delivery_report/{{recipient}}",
        authorized(get_recipient_report),
    ),
    Route(f"{PREFIX}/delivery_reports", authorized(list_recipient_reports)),
    Route(f"{PREFIX}/inbounds", authorized(list_inbounds)),
    Route(f"{PREFIX}/inbounds/{{inbound_id}}", authorized(get_inbound)),
]
