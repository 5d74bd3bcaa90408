"""The outbox: the sending engine's side of the database. Claims due messages into batches,
screens them (opt-outs, send windows, budget) and records what the provider made of each batch.

Every function runs in its own short transaction, committed by the caller, so a batch row and
its `client_reference` exist on disk before the HTTP call that uses them. The modules, one noun
each: `claims` (taking messages off the queue into batches, and giving them back), `screening`
(what of a claim may leave now) and `batches` (the batch ledger, from the last opt-out check to
the provider's answer). The names below are what the sending engine and the runtime use.
"""

from textcast.domain.outbox.batches import (
    due_batches,
    inflight_posts_to,
    mark_resubmitting,
    open_batches,
    orphaned_batches,
    prepare_post,
    record_accepted,
    record_rejected,
    record_retry,
    record_stranded,
    record_unknown,
    reload_batch,
)
from textcast.domain.outbox.claims import (
    Claim,
    ClaimedBatch,
    claim_batches,
    queued_after_launch,
    release_claims,
    sending_campaign_ids,
)
from textcast.domain.outbox.screening import screen_claims, wake_deferred

__all__ = [
    "Claim",
    "ClaimedBatch",
    "claim_batches",
    "due_batches",
    "inflight_posts_to",
    "mark_resubmitting",
    "open_batches",
    "orphaned_batches",
    "prepare_post",
    "queued_after_launch",
    "record_accepted",
    "record_rejected",
    "record_retry",
    "record_stranded",
    "record_unknown",
    "release_claims",
    "reload_batch",
    "screen_claims",
    "sending_campaign_ids",
    "wake_deferred",
]
