"""Sinch's HMAC signature on SMS callbacks (docs/sinch.md, "HMAC signatures")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from textcast.simulator.ids import new_id

ALGORITHM = "HmacSHA256"


def sign_callback(secret: str, body: bytes | str, nonce: str, timestamp: int | str) -> str:
    """Base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp)).

    The secret is used as raw UTF-8 (not Base64-decoded) and the body exactly as sent.
    """
    raw = body.encode() if isinstance(body, str) else body
    message = b".".join((raw, nonce.encode(), str(timestamp).encode()))
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str, body: bytes, *, nonce: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    nonce = nonce or new_id()
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "x-sinch-webhook-signature": sign_callback(secret, body, nonce, stamp),
        "x-sinch-webhook-signature-algorithm": ALGORITHM,
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": str(stamp),
    }
