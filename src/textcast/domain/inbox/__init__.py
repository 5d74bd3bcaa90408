"""What comes back from the provider: callback event types (the port a provider adapter fills),
the webhook inbox that stores and applies them in group commits, keywords and the replies they
send, and the inbound messages and conversations people see.

The modules, one noun each: `events` (the callbacks' types), `storage` (the webhook inbox:
storing each callback once, nonces, retries), `statuses` (delivery reports moving messages
forward), `group_commit`, `keywords`, `replies`, `inbound` and `conversations`.

The names below are the public API, imported when first used: the Sinch adapter imports
`events`, which runs this file, and should not load the inbox's SQL and the rest of the domain
(`replies` needs campaigns and audiences) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textcast.domain.inbox.conversations import (
        list_campaigns_replied_to as list_campaigns_replied_to,
    )
    from textcast.domain.inbox.conversations import list_inbox as list_inbox
    from textcast.domain.inbox.conversations import list_received_from as list_received_from
    from textcast.domain.inbox.conversations import list_sent_to as list_sent_to
    from textcast.domain.inbox.events import InboundSms as InboundSms
    from textcast.domain.inbox.events import IncomingEvent as IncomingEvent
    from textcast.domain.inbox.events import Outcome as Outcome
    from textcast.domain.inbox.events import StatusReport as StatusReport
    from textcast.domain.inbox.group_commit import GroupCommitter as GroupCommitter
    from textcast.domain.inbox.group_commit import StorageUnavailable as StorageUnavailable
    from textcast.domain.inbox.inbound import InboxFilter as InboxFilter
    from textcast.domain.inbox.inbound import list_inbound as list_inbound
    from textcast.domain.inbox.keywords import Keyword as Keyword
    from textcast.domain.inbox.keywords import KeywordRules as KeywordRules
    from textcast.domain.inbox.replies import ReplyPolicy as ReplyPolicy
    from textcast.domain.inbox.replies import handle_inbound as handle_inbound
    from textcast.domain.inbox.statuses import KnownBatches as KnownBatches
    from textcast.domain.inbox.statuses import apply_reports as apply_reports
    from textcast.domain.inbox.storage import MAX_EVENT_ATTEMPTS as MAX_EVENT_ATTEMPTS
    from textcast.domain.inbox.storage import InapplicableEvent as InapplicableEvent
    from textcast.domain.inbox.storage import forget_nonces as forget_nonces
    from textcast.domain.inbox.storage import inapplicable_reason as inapplicable_reason
    from textcast.domain.inbox.storage import is_database_trouble as is_database_trouble
    from textcast.domain.inbox.storage import mark_inapplicable as mark_inapplicable
    from textcast.domain.inbox.storage import retry_event as retry_event
    from textcast.domain.inbox.storage import store_events as store_events
    from textcast.domain.inbox.storage import unprocessed_events as unprocessed_events

# Where each public name is defined: the same names as above, for the import on first use.
_HOMES = {
    "list_campaigns_replied_to": "conversations",
    "list_inbox": "conversations",
    "list_received_from": "conversations",
    "list_sent_to": "conversations",
    "InboundSms": "events",
    "IncomingEvent": "events",
    "Outcome": "events",
    "StatusReport": "events",
    "GroupCommitter": "group_commit",
    "StorageUnavailable": "group_commit",
    "InboxFilter": "inbound",
    "list_inbound": "inbound",
    "Keyword": "keywords",
    "KeywordRules": "keywords",
    "ReplyPolicy": "replies",
    "handle_inbound": "replies",
    "KnownBatches": "statuses",
    "apply_reports": "statuses",
    "MAX_EVENT_ATTEMPTS": "storage",
    "InapplicableEvent": "storage",
    "forget_nonces": "storage",
    "inapplicable_reason": "storage",
    "is_database_trouble": "storage",
    "mark_inapplicable": "storage",
    "retry_event": "storage",
    "store_events": "storage",
    "unprocessed_events": "storage",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        # Also how `from textcast.domain.inbox import storage` finds a submodule not yet loaded.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
