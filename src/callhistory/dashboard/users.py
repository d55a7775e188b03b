"""Dashboard users: an email and a scrypt-hashed password per tenant.

Signing in names the tenant (the same email may exist in two tenants), then the email;
the hash is the standard library's scrypt, so no new dependency is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import new_id, now_ms
from callhistory.schema import dashboard_users

_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 50 ms, 16 MiB
MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    tenant_id: str
    id: str
    email: str
    active: bool


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${encoded[0]}${encoded[1]}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


async def create(conn: AsyncConnection, tenant_id: str, email: str, password: str) -> User:
    user = User(tenant_id, new_id(), email.strip().lower(), True)
    await conn.execute(
        dashboard_users.insert().values(
            tenant_id=tenant_id,
            id=user.id,
            email=user.email,
            password_hash=hash_password(password),
            created_at=now_ms(),
        )
    )
    return user


async def get(conn: AsyncConnection, tenant_id: str, user_id: str) -> User | None:
    row = (
        await conn.execute(
            select(dashboard_users).where(
                dashboard_users.c.tenant_id == tenant_id, dashboard_users.c.id == user_id
            )
        )
    ).first()
    return User(row.tenant_id, row.id, row.email, row.active) if row else None


async def authenticate(
    conn: AsyncConnection, tenant_id: str, email: str, password: str
) -> User | None:
    row = (
        await conn.execute(
            select(dashboard_users).where(
                dashboard_users.c.tenant_id == tenant_id,
                dashboard_users.c.email == email.strip().lower(),
            )
        )
    ).first()
    if row is None or not row.active or not check_password(password, row.password_hash):
        return None
    return User(row.tenant_id, row.id, row.email, row.active)
