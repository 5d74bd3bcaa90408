"""Sinch's batches API behind the sending engine's provider port."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from textcast.sending.provider import (
    Accepted,
    OutboundBatch,
    Provider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from textcast.sinch.client import SinchClient
from textcast.sinch.errors import (
    SinchError,
    SinchNotFound,
    SinchRejected,
    SinchUnauthorized,
    SinchUnknownOutcome,
)
from textcast.sinch.models import BatchRequest, DeliveryReportMode, describe_invalid

log = logging.getLogger("textcast.sinch")


class SinchProvider:
    def __init__(self, client: SinchClient) -> None:
        self._client = client

    async def submit(self, batch: OutboundBatch) -> Accepted:
        try:
            request = BatchRequest(
                to=list(batch.recipients),
                body=batch.body,
                from_=batch.sender,
                parameters={key: dict(values) for key, values in batch.parameters.items()} or None,
                callback_url=batch.callback_url,
                delivery_report=DeliveryReportMode(batch.delivery_report),
                client_reference=batch.client_reference,
            )
        except ValidationError as exc:
            # Sinch would answer 400 to this; refusing it here keeps it from being retried.
            raise ProviderRejected("invalid_request", ": ".join(describe_invalid(exc))) from None
        except ValueError as exc:  # an unknown delivery_report mode
            raise ProviderRejected("invalid_request", str(exc)) from exc
        try:
            sent = await self._client.send_batch(request)
        except SinchError as exc:
            raise _provider_error(exc) from exc
        return Accepted(provider_batch_id=sent.id)

    async def lookup(self, client_reference: str, created_after: datetime) -> Accepted | None:
        try:
            found = await self._client.find_batches(client_reference, since=created_after)
        except SinchError as exc:
            raise ProviderUnavailable(f"looking up {client_reference} failed: {exc}") from exc
        if not found:
            return None
        if len(found) > 1:
            # Only a resend after a wrong "not found" gets here: recipients were texted twice.
            log.error(
                "Sinch holds %d batches with client_reference %s (%s); using the oldest",
                len(found),
                client_reference,
                ", ".join(batch.id for batch in found),
            )
        return Accepted(provider_batch_id=found[0].id)

    async def cancel(self, provider_batch_id: str) -> None:
        try:
            await self._client.cancel_batch(provider_batch_id)
        except SinchNotFound as exc:
            raise ProviderRejected("not_found", exc.text, exc.status) from exc
        except SinchError as exc:
            raise _provider_error(exc) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _provider_error(exc: SinchError) -> ProviderError:
    if isinstance(exc, SinchRejected):
        return ProviderRejected(exc.code or f"http_{exc.status}", exc.text, exc.status)
    if isinstance(exc, SinchUnknownOutcome):
        return ProviderUnknownOutcome(str(exc))
    if isinstance(exc, SinchUnauthorized | SinchNotFound):
        # Wrong token, service plan id or region: the same for every batch, and nothing was
        # sent. Failing the messages would burn a whole campaign on a configuration typo, so
        # this is "unavailable until someone fixes the settings" — and it is logged loudly.
        log.error(
            "Sinch refused our credentials (%s): check SINCH_SERVICE_PLAN_ID, SINCH_API_TOKEN "
            "and SINCH_REGION/SINCH_BASE_URL",
            exc,
        )
        return ProviderUnavailable(f"Sinch credentials or region are wrong: {exc}")
    # Rate limits, 5xx, failed connects and unreadable answers: nothing accepted, try later.
    return ProviderUnavailable(str(exc), exc.retry_after)


if TYPE_CHECKING:
    _conforms_to_the_port: type[Provider] = SinchProvider
