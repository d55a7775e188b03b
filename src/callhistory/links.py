"""Signed, expiring links: a download or a player that cannot send credentials (an
`<a href>`, an `<audio src>`) carries `tenant`, `expires` and `sig` in its query instead.
The signature binds the link to its purpose, tenant and object, so it opens nothing else.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, purpose: str, tenant_id: str, object_id: str, expires: int) -> str:
    message = f"{purpose}\x00{tenant_id}\x00{object_id}\x00{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def valid_until(
    secret: str, purpose: str, tenant_id: str, object_id: str, expires: str, sig: str
) -> int | None:
    """Until when (epoch seconds) a link this server signed is valid; None for any other
    (its expiry is the caller's to check, so an expired link can say so)."""
    try:
        until = int(expires)
    except ValueError:
        return None
    expected = signature(secret, purpose, tenant_id, object_id, until).encode()
    return until if hmac.compare_digest(expected, sig.encode()) else None  # bytes: any text
