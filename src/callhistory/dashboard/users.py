"""Dashboard users: an email and an Argon2id-hashed password per tenant.

Signing in names the tenant (the same email may exist in two tenants), then the email.
Passwords are hashed with Argon2id (pwdlib over argon2-cffi), OWASP's first choice, at
OWASP's first parameter set: 19 MiB, 2 passes, 1 lane (about 30 ms on one core here;
argon2-cffi's own 64 MiB, 3 passes, 4 lanes took 140 ms, a lot for two shared cores).
Hashes made with other parameters are rehashed at sign-in, like scrypt ones. Hashes written before
(stdlib scrypt, N=2^14, below OWASP's floor) still verify, and are replaced with Argon2id
at the next successful sign-in, so no user needs to reset a password.

Hashing takes tens of milliseconds of CPU, so it runs in a thread (argon2-cffi releases
the GIL) and never stalls the event loop; a sign-in for an unknown or disabled user
verifies against a dummy hash, so the answer's timing does not tell which emails exist.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import HashVerificationError, UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import new_id, now_ms, writing
from callhistory.schema import dashboard_users

MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    tenant_id: str
    id: str
    email: str
    active: bool


class LegacyScryptHasher:
    """Verifies the `scrypt$N$r$p$salt$digest` hashes of earlier releases; never used to
    hash (pwdlib hashes with the first hasher) and always in need of a rehash."""

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return _text(hash).startswith("scrypt$")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        salt = salt or secrets.token_bytes(16)
        n, r, p = 2**14, 8, 1
        digest = hashlib.scrypt(_bytes(password), salt=salt, n=n, r=r, p=p, dklen=32)
        return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        try:
            kind, n, r, p, salt, digest = _text(hash).split("$")
            expected = base64.b64decode(digest)
            got = hashlib.scrypt(
                _bytes(password),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=len(expected),
            )
        except (ValueError, TypeError):
            return False
        return kind == "scrypt" and hmac.compare_digest(got, expected)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PASSWORDS = PasswordHash(
    (Argon2Hasher(time_cost=2, memory_cost=19_456, parallelism=1), LegacyScryptHasher())
)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return PASSWORDS.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def check_password(password: str, stored: str) -> tuple[bool, str | None]:
    """Whether the password matches, and the new hash to store when the stored one is of
    an older kind or weaker parameters (None: keep it)."""
    try:
        return PASSWORDS.verify_and_update(password, stored)
    except (UnknownHashError, HashVerificationError):  # not a hash we know, or malformed
        return False, None


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
    if row is None or not row.active:
        await asyncio.to_thread(check_password, password, _dummy_hash())
        return None
    matches, new_hash = await asyncio.to_thread(check_password, password, row.password_hash)
    if not matches:
        return None
    if new_hash is not None:
        await _store_rehash(conn, row.tenant_id, row.id, row.password_hash, new_hash)
    return User(row.tenant_id, row.id, row.email, row.active)


async def _store_rehash(
    conn: AsyncConnection, tenant_id: str, user_id: str, old_hash: str, new_hash: str
) -> None:
    # Its own short write transaction (the caller's connection may be a read): only if
    # the hash is still the one verified, so a password changed meanwhile is kept.
    async with writing(conn.engine) as write:
        await write.execute(
            update(dashboard_users)
            .where(
                dashboard_users.c.tenant_id == tenant_id,
                dashboard_users.c.id == user_id,
                dashboard_users.c.password_hash == old_hash,
            )
            .values(password_hash=new_hash)
        )
