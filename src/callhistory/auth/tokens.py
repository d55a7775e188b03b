"""Signed, expiring access tokens (JWT, HS256) that name the key they came from."""

from __future__ import annotations

import time

import jwt

from callhistory.auth.keys import KeyRef

ALGORITHM = "HS256"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def issue(ref: KeyRef, secret: str, ttl_seconds: int) -> tuple[str, int]:
    """Returns the token and its expiry in epoch milliseconds."""
    now = int(time.time())
    expires = now + ttl_seconds
    claims = {"sub": ref.tenant_id, "kid": ref.key_id, "iat": now, "exp": expires, "typ": "access"}
    if ref.agent_id is not None:
        claims["agt"] = ref.agent_id  # for the reader; the scope applied is the key's own
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires * 1000


def verify(token: str, secret: str) -> KeyRef:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "kid", "exp"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid from exc
    if claims.get("typ") != "access":
        raise TokenInvalid
    return KeyRef(str(claims["sub"]), str(claims["kid"]))
