"""Webhook signatures: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)
and, deprecated for one release, X-Callhistory-Signature.

Standard Webhooks (https://www.standardwebhooks.com): the signed content is
`<webhook-id>.<webhook-timestamp>.<raw body>`, HMAC-SHA256 keyed with the bytes the
secret encodes (`whsec_` + base64), sent as `v1,<base64 signature>`. webhook-id is the
delivery's id, so it is the same on every retry and redelivery (de-duplicate on it).

The key of a secret (`standard_key`): the base64 after `whsec_` decoded, in either
alphabet, padded or not: secrets minted before this scheme are `whsec_` + URL-safe
base64 (`-`, `_`), which the libraries do not read; `standard_secret` gives the same key
in the standard alphabet they do read. A secret that is no base64 at all is keyed with
its UTF-8 bytes, so its standard form is `whsec_` + base64(the secret).

X-Callhistory-Signature (deprecated): `t=<unix seconds>,v1=<hex>`, the HMAC-SHA256 of
`<t>.<raw body>` keyed with the secret's UTF-8 text (whole, `whsec_` included).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from callhistory.secrets_box import SecretsError, box

TOLERANCE_SECONDS = 300
PREFIX = "whsec_"
_BASE64 = re.compile(r"^[A-Za-z0-9+/\-_]+={0,2}$")

__all__ = [
    "SecretsError",
    "delivery_headers",
    "signature",
    "standard_headers",
    "standard_key",
    "standard_secret",
    "standard_signature",
    "verify",
    "verify_standard",
]


# --- X-Callhistory-Signature (deprecated) ---


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `header` signs exactly `body` with `secret`, made within `tolerance` s."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- Standard Webhooks ---


def standard_key(secret: str) -> bytes:
    """The HMAC key of a secret (see the module's docstring)."""
    encoded = secret.removeprefix(PREFIX)
    if _BASE64.match(encoded):
        standard = encoded.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (ValueError, binascii.Error):
            key = b""
        if key:
            return key
    return secret.encode()


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks libraries read it: `whsec_` + base64 of its key.
    A secret minted as such is returned unchanged."""
    return PREFIX + base64.b64encode(standard_key(secret)).decode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, msg_id, timestamp, body),
    }


def verify_standard(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when the webhook-* headers sign exactly `body` with `secret`, made within
    `tolerance` s (either way). Header names in any case; several signatures
    (space-separated, during a secret's rotation) pass when one matches."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    signatures = lower.get("webhook-signature", "")
    try:
        timestamp = int(lower.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if not msg_id or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = standard_signature(secret, msg_id, timestamp, body).encode()
    return any(hmac.compare_digest(expected, s.encode()) for s in signatures.split())


# --- the worker's headers ---


def delivery_headers(
    stored_secret: str, delivery_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Both signatures of a delivery, from the hook's secret as stored (encrypted, or
    legacy plaintext). Raises SecretsError (a clear message, no secret in it) when the
    configured keys cannot open it."""
    secret = box().open(stored_secret)
    return {
        **standard_headers(secret, delivery_id, timestamp, body),
        "X-Callhistory-Signature": signature(secret, timestamp, body),
    }
