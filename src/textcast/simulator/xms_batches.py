"""The xms batches endpoints: send, dry run, list, get, cancel, replace, update, feedback."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from textcast.simulator.batch_requests import normalize_recipients
from textcast.simulator.batches import Batch
from textcast.simulator.encoding import measure_body, truncate_to_one_part
from textcast.simulator.errors import constraint_violation, invalid_json
from textcast.simulator.inputs import (
    authorized,
    paging,
    query_bool,
    query_csv,
    query_int,
    query_window,
    read_json,
    simulator,
)


async def send_batch(request: Request) -> Response:
    state = simulator(request)
    spec = state.parse(await read_json(request))
    batch = state.accept(spec)
    return JSONResponse(batch.to_json(), status_code=201)


async def dry_run(request: Request) -> Response:
    state = simulator(request)
    spec = state.parse(await read_json(request))
    detailed = query_bool(request, "per_recipient", False)
    limit = query_int(request, "number_of_recipients", 100, 0, 1000)
    template = spec.template()
    single = None if template.varies else _measure(spec.body, spec.truncate_concat, spec.type)
    total_parts = 0
    details: list[dict[str, Any]] = []
    for recipient in spec.recipients:
        body = template.render(recipient)
        if body is None:  # unmatched parameter: Sinch aborts it (405), nothing is sent
            continue
        body, parts, encoding = single or _measure(body, spec.truncate_concat, spec.type)
        total_parts += parts
        if detailed and len(details) < limit:
            details.append(
                {
                    "recipient": recipient,
                    "number_of_parts": parts,
                    "body": body,
                    "encoding": encoding,
                }
            )
    result: dict[str, Any] = {
        "number_of_recipients": len(spec.recipients),
        "number_of_messages": total_parts,
    }
    if detailed:
        result["per_recipient"] = details
    return JSONResponse(result)


def _measure(body: str, truncate: bool, message_type: str) -> tuple[str, int, str]:
    if message_type == "mt_binary":
        return body, 1, "text"
    if truncate:
        body = truncate_to_one_part(body)
    measured = measure_body(body)
    return body, measured.parts, measured.encoding.value


async def list_batches(request: Request) -> Response:
    state = simulator(request)
    page, page_size = paging(request)
    start, end = query_window(request)
    senders = query_csv(request, "from")
    chosen = state.select_batches(
        start=start,
        end=end,
        senders=None if senders is None else {s.removeprefix("+") for s in senders},
        client_reference=request.query_params.get("client_reference"),
    )
    items = chosen[page * page_size : (page + 1) * page_size]
    return JSONResponse(
        {
            "count": len(chosen),
            "page": page,
            "page_size": len(items),
            "batches": [batch.to_json() for batch in items],
        }
    )


def find_batch(request: Request) -> Batch:
    batch = simulator(request).batch(request.path_params["batch_id"])
    if batch is None:
        raise HTTPException(404)
    return batch


async def get_batch(request: Request) -> Response:
    return JSONResponse(find_batch(request).to_json())


async def cancel_batch(request: Request) -> Response:
    batch = find_batch(request)
    return JSONResponse(simulator(request).cancel(batch).to_json())


async def replace_batch(request: Request) -> Response:
    batch = find_batch(request)
    state = simulator(request)
    spec = state.parse(await read_json(request))
    return JSONResponse(state.replace(batch, spec).to_json())


async def update_batch(request: Request) -> Response:
    batch = find_batch(request)
    state = simulator(request)
    return JSONResponse(state.update(batch, await read_json(request)).to_json())


async def delivery_feedback(request: Request) -> Response:
    batch = find_batch(request)
    data = await read_json(request)
    if not isinstance(data, dict) or "recipients" not in data:
        raise invalid_json("The request body must be an object with 'recipients'.")
    if not batch.spec.echo.get("feedback_enabled"):
        raise constraint_violation("Delivery feedback is not enabled for this batch.")
    if data["recipients"]:
        normalize_recipients(data["recipients"], "recipients", low=1, high=1000)
    return Response(status_code=202)


PREFIX = "/xms/v1/{service_plan_id}"

routes = [
    Route(f"{PREFIX}/batches", authorized(send_batch), methods=["POST"]),
    Route(f"{PREFIX}/batches", authorized(list_batches), methods=["GET"]),
    Route(f"{PREFIX}/batches/dry_run", authorized(dry_run), methods=["POST"]),
    Route(f"{PREFIX}/batches/{{batch_id}}", authorized(get_batch), methods=["GET"]),
    Route(f"{PREFIX}/batches/{{batch_id}}", authorized(cancel_batch), methods=["DELETE"]),
    Route(f"{PREFIX}/batches/{{batch_id}}", authorized(replace_batch), methods=["PUT"]),
    Route(f"{PREFIX}/batches/{{batch_id}}", authorized(update_batch), methods=["POST"]),
    Route(
        f"{PREFIX}/batches/{{batch_id}}/delivery_feedback",
        authorized(delivery_feedback),
        methods=["POST"],
    ),
]
