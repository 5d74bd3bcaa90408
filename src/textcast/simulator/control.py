"""Test-harness endpoints under `/_simulator` (no token: bind the simulator to localhost).

GET  /_simulator/ledger[?full=1]  accepted recipients, distinct, duplicates (+ per-recipient counts)
GET  /_simulator/faults           current faults
POST /_simulator/faults           replace faults, e.g. {"error_5xx": 0.2, "latency": [0.01, 0.05]}
POST /_simulator/inbound          inject an MO: {"from", "to", "body"} (+ "client_reference",
                                  "operator_id"); it is stored and POSTed to inbound_callback_url
GET  /_simulator/outcomes         the numbers whose messages end with a chosen outcome
POST /_simulator/outcomes         replace them: {"+12015550100": {"status": "Deleted", "code": 0}}
                                  (+ "operator": false for a status Sinch sets itself)
GET  /_simulator/stats            callback counters, queue depth, batches, faults injected
POST /_simulator/reset            forget batches, ledger, inbounds, callbacks; faults back to config
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from textcast.simulator.config import Outcome
from textcast.simulator.inputs import simulator


def _problem(text: str) -> Response:
    return JSONResponse({"code": "bad_request", "text": text}, status_code=400)


async def _body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return None


async def get_ledger(request: Request) -> Response:
    full = request.query_params.get("full", "") in ("1", "true", "True")
    return JSONResponse(simulator(request).ledger_report(full=full).to_json())


async def get_faults(request: Request) -> Response:
    return JSONResponse(simulator(request).faults.to_json())


async def set_faults(request: Request) -> Response:
    data = await _body(request)
    if not isinstance(data, dict):
        return _problem("Send a JSON object of fault settings.")
    try:
        faults = simulator(request).set_faults(data)
    except ValueError as error:
        return _problem(str(error))
    return JSONResponse(faults.to_json())


async def inject_inbound(request: Request) -> Response:
    data = await _body(request)
    fields = ("from", "to", "body")
    if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in fields):
        return _problem("Send a JSON object with string 'from', 'to' and 'body'.")
    optional = {k: data.get(k) for k in ("client_reference", "operator_id")}
    if any(v is not None and not isinstance(v, str) for v in optional.values()):
        return _problem("'client_reference' and 'operator_id' must be strings.")
    state = simulator(request)
    state.ensure_running()
    message = state.inject_inbound(
        data["from"],
        data["to"],
        data["body"],
        optional["client_reference"],
        operator_id=optional["operator_id"],
    )
    return JSONResponse(message, status_code=201)


def _outcomes_json(chosen: dict[str, Outcome]) -> dict[str, object]:
    return {
        number: {"status": o.status, "code": o.code, "operator": o.operator}
        for number, o in chosen.items()
    }


async def get_outcomes(request: Request) -> Response:
    return JSONResponse(_outcomes_json(simulator(request).number_outcomes))


async def set_outcomes(request: Request) -> Response:
    data = await _body(request)
    if not isinstance(data, dict):
        return _problem('Send a JSON object: {"+12015550100": {"status": "Deleted", "code": 0}}.')
    chosen: dict[str, Outcome] = {}
    try:
        for number, fate in data.items():
            if not isinstance(fate, dict) or not isinstance(fate.get("code"), int):
                raise ValueError(f"{number}: give a 'status' and an integer 'code'")
            operator = fate.get("operator", True)
            chosen[number] = Outcome(str(fate.get("status")), fate["code"], 1.0, bool(operator))
        return JSONResponse(_outcomes_json(simulator(request).set_number_outcomes(chosen)))
    except ValueError as error:
        return _problem(str(error))


async def get_stats(request: Request) -> Response:
    return JSONResponse(simulator(request).stats())


async def reset(request: Request) -> Response:
    simulator(request).reset()
    return Response(status_code=204)


routes = [
    Route("/_simulator/ledger", get_ledger),
    Route("/_simulator/faults", get_faults, methods=["GET"]),
    Route("/_simulator/faults", set_faults, methods=["POST"]),
    Route("/_simulator/inbound", inject_inbound, methods=["POST"]),
    Route("/_simulator/outcomes", get_outcomes, methods=["GET"]),
    Route("/_simulator/outcomes", set_outcomes, methods=["POST"]),
    Route("/_simulator/stats", get_stats),
    Route("/_simulator/reset", reset, methods=["POST"]),
]
