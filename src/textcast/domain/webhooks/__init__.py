"""Outbound webhooks: the subscriptions that receive the event stream (`domain.stream`), each
event's deliveries to them with their retries, replays, and the log of every attempt.

Deliveries follow the Standard Webhooks conventions (`signatures`); endpoints must be public
addresses unless WEBHOOK_ALLOW_PRIVATE (`addresses`).
"""
