"""Stripe-style webhook signatures: `X-Catalog-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of "t.body">`.

The stdlib `hmac` module is the well-kept implementation of this (constant-time compare included); receivers
verify with the same three lines in any language.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Catalog-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={mac}"


def verify(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance` of now."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
        given = parts["sha256"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rpartition("sha256=")[2]
    return hmac.compare_digest(expected, given)
