"""Flows to start from: what SMS marketers run most, ready to adjust and publish.

Each is a definition (the JSON `definitions` reads) with a name and a line saying what it does.
A flow made from one is a draft: the texts, waits and lists are the operator's to change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from textcast.domain.errors import NotFound


@dataclass(frozen=True, slots=True)
class FlowTemplate:
    key: str
    name: str
    summary: str
    definition: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "summary": self.summary,
            "definition": copy.deepcopy(self.definition),
        }


TEMPLATES = (
    FlowTemplate(
        "welcome",
        "Welcome series",
        "Three texts over a week after someone subscribes: a welcome, an offer two days "
        "later, your best sellers five days after that.",
        {
            "trigger": {"type": "subscribed"},
            "reentry": "once",
            "steps": [
                {
                    "id": "welcome",
                    "type": "send",
                    "body": "Welcome {{ first_name | default('') }}! Thanks for joining our "
                    "texts. Reply STOP to opt out.",
                },
                {"id": "wait_2d", "type": "wait", "for": "2d"},
                {
                    "id": "offer",
                    "type": "send",
                    "body": "A welcome gift: 10% off your first order this week with code "
                    "HELLO10. Reply STOP to opt out.",
                },
                {"id": "wait_5d", "type": "wait", "for": "5d"},
                {
                    "id": "best_sellers",
                    "type": "send",
                    "body": "Our best sellers, picked for you: https://example.com/best "
                    "Reply STOP to opt out.",
                },
            ],
        },
    ),
    FlowTemplate(
        "abandoned_cart",
        "Abandoned cart",
        "When your shop posts cart_abandoned, a reminder an hour later with the cart's link "
        "and another the next day; an order_placed event ends it.",
        {
            "trigger": {"type": "event", "event": "cart_abandoned"},
            "reentry": "cooldown",
            "cooldown": "1d",
            "goal": "order_placed",
            "steps": [
                {"id": "wait_1h", "type": "wait", "for": "1h"},
                {
                    "id": "reminder",
                    "type": "send",
                    "body": "You left something in your cart: {{ event.cart_url }} "
                    "Reply STOP to opt out.",
                },
                {"id": "wait_1d", "type": "wait", "for": "1d"},
                {
                    "id": "last_call",
                    "type": "send",
                    "body": "Last call: your cart is still waiting {{ event.cart_url }} "
                    "Reply STOP to opt out.",
                },
            ],
        },
    ),
    FlowTemplate(
        "birthday",
        "Birthday offer",
        "On each contact's birthday at 10:00 their time, a gift. Contacts need a birthday "
        "attribute (YYYY-MM-DD or MM-DD).",
        {
            "trigger": {"type": "date", "attribute": "birthday", "time": "10:00"},
            "reentry": "always",
            "steps": [
                {
                    "id": "gift",
                    "type": "send",
                    "body": "Happy birthday {{ first_name | default('') }}! Here is 20% off "
                    "today with code BDAY20. Reply STOP to opt out.",
                },
            ],
        },
    ),
    FlowTemplate(
        "win_back",
        "Win-back",
        "Sixty days after someone subscribes, a come-back offer, unless they clicked one of "
        "your links in those sixty days.",
        {
            "trigger": {"type": "subscribed"},
            "reentry": "once",
            "steps": [
                {"id": "wait_60d", "type": "wait", "for": "60d"},
                {
                    "id": "clicked",
                    "type": "branch",
                    "if": {"kind": "clicked", "within": "60d"},
                    "yes": [{"id": "still_here", "type": "exit"}],
                    "no": [
                        {
                            "id": "come_back",
                            "type": "send",
                            "body": "We miss you! Come back for 15% off with code BACK15: "
                            "https://example.com Reply STOP to opt out.",
                        }
                    ],
                },
            ],
        },
    ),
)


def template(key: str) -> FlowTemplate:
    for one in TEMPLATES:
        if one.key == key:
            return one
    raise NotFound("flow template", key)
