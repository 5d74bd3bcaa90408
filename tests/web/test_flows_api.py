"""`/api/v1/flows`: a flow's life over the API (draft, live, versions, pause, archive,
delete), templates, moving runs onto a new version, who is where, and every bad definition
refused with the field and the problem named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import authorize, bearer, make_api_key, numbers
from tests.flows.helpers import advance, policy

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import AuditEntry, Role, utcnow
from textcast.web.app import create_app

FLOWS = "/api/v1/flows"
EVENTS = "/api/v1/events"

CART = {
    "trigger": {"type": "event", "event": "cart_abandoned"},
    "reentry": "always",
    "goal": "order_placed",
    "steps": [
        {"id": "wait_1h", "type": "wait", "for": "1h"},
        {
            "id": "reminder",
            "type": "send",
            "body": "Your cart: {{ event.cart_url }} Reply STOP to opt out.",
        },
    ],
}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, secret_key="tests", default_region="US")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.EDITOR)
        yield client


def created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def problems(answer: Any) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    return {p["field"]: p["message"] for p in answer.json()["problems"]}


def contact(client: TestClient, phone: str, **attributes: Any) -> int:
    answer = client.post("/api/v1/contacts", json={"phone": phone, "attributes": attributes})
    return int(created(answer)["id"])


def live_cart_flow(client: TestClient) -> int:
    flow = created(client.post(FLOWS, json={"name": "Cart", "definition": CART, "publish": True}))
    assert (flow["status"], flow["version"]) == ("live", 1)
    return int(flow["id"])


def test_a_flow_is_drafted_published_versioned_paused_resumed_and_archived(
    client: TestClient, database: Database
) -> None:
    draft = created(client.post(FLOWS, json={"name": "Cart", "definition": CART}))
    assert (draft["status"], draft["version"], draft["versions"]) == ("draft", None, [])
    assert draft["trigger_type"] == "event" and draft["trigger_key"] == "cart_abandoned"
    assert draft["goal_event"] == "order_placed"
    assert list(draft["figures"]["steps"]) == []  # a draft has no version to count
    flow_id = draft["id"]

    live = ok(client.post(f"{FLOWS}/{flow_id}/publish"))
    assert (live["status"], live["version"]) == ("live", 1)
    assert list(live["figures"]["steps"]) == ["wait_1h", "reminder"]
    assert live["figures"]["steps"]["reminder"]["sent"] == 0
    again = client.post(f"{FLOWS}/{flow_id}/publish")
    assert again.status_code == 409
    assert again.json()["message"] == f"flow {flow_id} is live; only a draft is published"

    shorter = {**CART, "steps": CART["steps"][1:]}
    edited = ok(client.patch(f"{FLOWS}/{flow_id}", json={"definition": shorter}))
    assert edited["version"] == 2
    assert [(v["number"], v["current"]) for v in edited["versions"]] == [(2, True), (1, False)]
    assert [s["id"] for s in edited["definition"]["steps"]] == ["reminder"]
    renamed = ok(client.patch(f"{FLOWS}/{flow_id}", json={"name": "Abandoned carts"}))
    assert (renamed["name"], renamed["version"]) == ("Abandoned carts", 2)

    assert ok(client.post(f"{FLOWS}/{flow_id}/pause"))["status"] == "paused"
    refused = client.post(f"{FLOWS}/{flow_id}/pause")
    assert refused.status_code == 409
    assert "only a live flow can be paused" in refused.json()["message"]
    assert ok(client.post(f"{FLOWS}/{flow_id}/resume"))["status"] == "live"
    archived = ok(client.post(f"{FLOWS}/{flow_id}/archive"))
    assert (archived["status"], archived["runs_ended"]) == ("archived", 0)

    assert ok(client.get(FLOWS)) == []
    listed = client.get(FLOWS, params={"archived": "true"}).json()
    assert [(f["id"], f["status"], f["version"]) for f in listed] == [(flow_id, "archived", 2)]
    assert client.patch(f"{FLOWS}/{flow_id}", json={"name": "X"}).status_code == 409
    with database.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"flow:{flow_id}")
        ).all()
    assert actions == [
        "flow.create",
        "flow.publish",
        "flow.update",
        "flow.update",
        "flow.pause",
        "flow.resume",
        "flow.archive",
    ]


def test_templates_are_listed_and_start_drafts(client: TestClient) -> None:
    keys = [t["key"] for t in ok(client.get(f"{FLOWS}/templates"))]
    assert keys == ["welcome", "abandoned_cart", "birthday", "win_back"]

    draft = created(client.post(FLOWS, json={"template": "abandoned_cart"}))
    assert (draft["name"], draft["status"]) == ("Abandoned cart", "draft")
    assert draft["definition"]["trigger"] == {"type": "event", "event": "cart_abandoned"}
    named = created(client.post(FLOWS, json={"template": "welcome", "name": "Hello"}))
    assert named["name"] == "Hello"
    assert ok(client.post(f"{FLOWS}/{draft['id']}/publish"))["status"] == "live"

    unknown = problems(client.post(FLOWS, json={"template": "black_friday"}))
    assert unknown == {
        "template": "there is no template 'black_friday'; use one of: welcome, abandoned_cart, "
        "birthday, win_back"
    }
    both = problems(client.post(FLOWS, json={"template": "welcome", "publish": True}))
    assert "starts as a draft" in both["publish"]
    neither = problems(client.post(FLOWS, json={"name": "Empty"}))
    assert neither == {
        "definition": "give a definition, or a template to start from (GET /api/v1/flows/templates)"
    }


def test_bad_definitions_are_refused_naming_the_field_and_the_problem(
    client: TestClient,
) -> None:
    contact(client, numbers(1)[0], tier="gold")

    def refused(definition: dict[str, Any], name: str = "Bad") -> dict[str, str]:
        return problems(client.post(FLOWS, json={"name": name, "definition": definition}))

    subscribed = {"type": "subscribed"}
    after_exit = refused(
        {
            "trigger": subscribed,
            "steps": [
                {"id": "done", "type": "exit"},
                {"id": "late", "type": "send", "body": "Never sent"},
            ],
        }
    )
    assert after_exit == {"steps[1]": "can never be reached: it comes after the exit step done"}

    forever = refused(
        {"trigger": subscribed, "steps": [{"id": "w", "type": "wait", "until_event": "paid"}]}
    )
    assert forever == {
        "steps[0].timeout": "a wait for an event needs a timeout, or a run whose event never "
        "comes would wait forever"
    }

    branch = {
        "id": "vip",
        "type": "branch",
        "if": {"kind": "attribute", "name": "loyalty", "value": "gold"},
        "yes": [{"id": "y", "type": "send", "body": "Hi VIP"}],
        "no": [],
    }
    unknown_attribute = refused({"trigger": subscribed, "steps": [branch]})
    assert unknown_attribute["steps[0].if.name"].startswith(
        "no contact has an attribute 'loyalty' (known: "
    )
    assert "tier" in unknown_attribute["steps[0].if.name"]

    one_send = [{"type": "send", "body": "x"}]
    no_list = refused({"trigger": {"type": "subscribed", "list_id": 999}, "steps": one_send})
    assert no_list == {"trigger.list_id": "there is no list 999"}
    in_segment = {**branch, "if": {"kind": "segment", "segment_id": 998}}
    no_segment = refused({"trigger": subscribed, "steps": [in_segment]})
    assert no_segment == {"step vip": "there is no segment 998"}

    stop = refused({"trigger": {"type": "keyword", "keyword": "stop"}, "steps": [{"type": "exit"}]})
    assert stop == {
        "trigger.keyword": "STOP is already a keyword of OPT_OUT_KEYWORDS: that text would "
        "never reach this flow"
    }
    unnamed = refused({"trigger": subscribed, "steps": [{"type": "send", "body": "x"}]}, name=" ")
    assert unnamed == {"name": "a flow needs a name"}
    nested: dict[str, Any] = {"id": "deep", "type": "exit"}
    for level in range(400):
        nested = {"id": f"b{level}", "type": "branch", "if": {"kind": "arrived"}, "yes": [nested]}
    too_deep = refused({"trigger": subscribed, "steps": [nested]})
    assert "branches may be nested at most 20 deep" in too_deep.values()

    flow_id = live_cart_flow(client)
    kept = problems(
        client.patch(f"{FLOWS}/{flow_id}", json={"definition": {**CART, "steps": [branch]}})
    )
    assert list(kept) == ["steps[0].if.name"]
    assert ok(client.get(f"{FLOWS}/{flow_id}"))["version"] == 1


def test_runs_move_onto_a_new_version_as_the_preview_says(client: TestClient) -> None:
    flow_id = live_cart_flow(client)
    for phone in numbers(2):
        contact(client, phone)
        created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))
    assert ok(client.get(f"{FLOWS}/{flow_id}/move-preview")) == {"landings": [], "runs": 0}

    without_wait = {**CART, "steps": CART["steps"][1:]}
    ok(client.patch(f"{FLOWS}/{flow_id}", json={"definition": without_wait}))
    preview = ok(client.get(f"{FLOWS}/{flow_id}/move-preview"))
    assert preview == {
        "landings": [
            {
                "version": 1,
                "step_id": "wait_1h",
                "waiting": False,
                "runs": 2,
                "lands_on": "reminder",
            }
        ],
        "runs": 2,
    }
    runs = ok(client.get(f"{FLOWS}/{flow_id}/runs"))["items"]
    assert {(r["version"], r["position"]) for r in runs} == {(1, "wait_1h")}

    assert ok(client.post(f"{FLOWS}/{flow_id}/move-runs"))["runs"] == 2
    runs = ok(client.get(f"{FLOWS}/{flow_id}/runs"))["items"]
    assert {(r["version"], r["position"], r["step_type"]) for r in runs} == {
        (2, "reminder", "send")
    }
    assert ok(client.get(f"{FLOWS}/{flow_id}/move-preview"))["runs"] == 0

    # An edit can move them in the same request: the send step goes, nothing is after it.
    final = {**CART, "steps": [{"id": "thanks", "type": "send", "body": "Thanks!"}]}
    moved = ok(client.patch(f"{FLOWS}/{flow_id}", json={"definition": final, "move_runs": True}))
    assert moved["version"] == 3
    assert moved["runs"]["completed"] == 2 and moved["active_runs"] == 0


def test_runs_are_listed_by_status_and_step_with_their_history_and_per_contact(
    client: TestClient, database: Database
) -> None:
    flow_id = live_cart_flow(client)
    phones = numbers(3)
    ids = [contact(client, phone) for phone in phones]
    for phone in phones:
        created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))
    created(client.post(EVENTS, json={"contact_id": ids[0], "name": "order_placed"}))
    advance(database, policy(), utcnow())

    everyone = ok(client.get(f"{FLOWS}/{flow_id}/runs"))
    assert [r["contact_id"] for r in everyone["items"]] == ids[::-1]
    assert everyone["next_cursor"] is None
    waiting = ok(client.get(f"{FLOWS}/{flow_id}/runs", params={"step": "wait_1h"}))["items"]
    assert {(r["contact_id"], r["waiting"]) for r in waiting} == {(ids[1], True), (ids[2], True)}
    goal = ok(client.get(f"{FLOWS}/{flow_id}/runs", params={"status": "goal"}))["items"]
    assert [(r["contact_id"], r["end_reason"]) for r in goal] == [
        (ids[0], "reached the goal: order_placed")
    ]
    first = ok(client.get(f"{FLOWS}/{flow_id}/runs", params={"limit": 2}))
    assert len(first["items"]) == 2 and first["next_cursor"] == first["items"][-1]["id"]
    rest = ok(client.get(f"{FLOWS}/{flow_id}/runs", params={"cursor": first["next_cursor"]}))
    assert [r["contact_id"] for r in rest["items"]] == [ids[0]]

    run_id = waiting[0]["id"]
    detail = ok(client.get(f"{FLOWS}/{flow_id}/runs/{run_id}"))
    assert detail["status"] == "active"
    assert [(h["step_id"], h["outcome"]) for h in detail["history"]] == [("wait_1h", "waiting")]
    assert client.get(f"{FLOWS}/{flow_id + 1}/runs/{run_id}").status_code == 404
    assert client.get(f"{FLOWS}/{flow_id + 1}/runs").status_code == 404

    mine = ok(client.get(f"/api/v1/contacts/{ids[0]}/runs"))["items"]
    assert [(r["flow_name"], r["status"], r["position"]) for r in mine] == [("Cart", "goal", None)]
    theirs = ok(client.get(f"/api/v1/contacts/{ids[1]}/runs"))["items"]
    assert [(r["status"], r["position"], r["waiting"]) for r in theirs] == [
        ("active", "wait_1h", True)
    ]
    assert client.get("/api/v1/contacts/999999/runs").status_code == 404

    figures = ok(client.get(f"{FLOWS}/{flow_id}"))["figures"]
    assert figures["runs"]["active"] == 2 and figures["runs"]["goal"] == 1
    assert figures["steps"]["wait_1h"]["waiting"] == 2
    assert figures["steps"]["wait_1h"]["goal"] == 1


def test_a_flow_with_runs_is_archived_not_deleted(client: TestClient) -> None:
    draft = created(client.post(FLOWS, json={"name": "Scratch", "definition": CART}))
    assert ok(client.delete(f"{FLOWS}/{draft['id']}")) == {"id": draft["id"], "name": "Scratch"}
    assert client.get(f"{FLOWS}/{draft['id']}").status_code == 404

    flow_id = live_cart_flow(client)
    phone = numbers(1)[0]
    contact(client, phone)
    created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))
    refused = client.delete(f"{FLOWS}/{flow_id}")
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        f"flow {flow_id} has runs; archive it instead (its figures and history stay)"
    )
    archived = ok(client.post(f"{FLOWS}/{flow_id}/archive"))
    assert archived["runs_ended"] == 1 and archived["runs"]["cancelled"] == 1


def test_viewers_read_flows_but_cannot_change_them_or_post_events(
    client: TestClient, database: Database
) -> None:
    flow_id = live_cart_flow(client)
    viewer = bearer(make_api_key(database, Role.VIEWER))
    assert client.get(FLOWS, headers=viewer).status_code == 200
    assert client.get(f"{FLOWS}/{flow_id}/runs", headers=viewer).status_code == 200
    assert client.get(EVENTS, headers=viewer).status_code == 200
    for method, path, body in [
        ("POST", FLOWS, {"template": "welcome"}),
        ("PATCH", f"{FLOWS}/{flow_id}", {"name": "Mine"}),
        ("POST", f"{FLOWS}/{flow_id}/pause", None),
        ("DELETE", f"{FLOWS}/{flow_id}", None),
        ("POST", EVENTS, {"phone": numbers(1)[0], "name": "cart_abandoned"}),
    ]:
        answer = client.request(method, path, json=body, headers=viewer)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["message"].startswith("this needs the ")
    assert ok(client.get(f"{FLOWS}/{flow_id}"))["status"] == "live"


def test_the_api_document_lists_the_flow_and_event_operations(client: TestClient) -> None:
    paths = ok(client.get("/openapi.json"))["paths"]
    expected = {
        FLOWS: {"get", "post"},
        f"{FLOWS}/templates": {"get"},
        f"{FLOWS}/{{flow_id}}": {"get", "patch", "delete"},
        f"{FLOWS}/{{flow_id}}/move-preview": {"get"},
        f"{FLOWS}/{{flow_id}}/move-runs": {"post"},
        f"{FLOWS}/{{flow_id}}/publish": {"post"},
        f"{FLOWS}/{{flow_id}}/pause": {"post"},
        f"{FLOWS}/{{flow_id}}/resume": {"post"},
        f"{FLOWS}/{{flow_id}}/archive": {"post"},
        f"{FLOWS}/{{flow_id}}/runs": {"get"},
        f"{FLOWS}/{{flow_id}}/runs/{{run_id}}": {"get"},
        "/api/v1/contacts/{contact_id}/runs": {"get"},
        EVENTS: {"get", "post"},
        f"{EVENTS}/summary": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    posted = paths[EVENTS]["post"]["responses"]
    assert set(posted) >= {"200", "201", "400", "401", "403", "413", "429"}
    assert "Idempotent-Replayed" in posted["200"]["headers"]
