"""Dashboard passwords: Argon2id at OWASP's parameters; scrypt hashes of earlier releases
still sign in and are replaced at that sign-in; nothing tells which emails exist."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.dashboard import users
from callhistory.schema import dashboard_users
from tests.dashboard.support import browser, csrf_of
from tests.factories import Tenant, make_tenant

PASSWORD = "correct horse battery"


def scrypt_hash(password: str) -> str:
    """A hash as the previous release wrote it (stdlib scrypt, N=2^14), made here
    independently of the code under test."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    encode = base64.b64encode
    return f"scrypt$16384$8$1${encode(salt).decode()}${encode(digest).decode()}"


async def user_with_hash(engine: AsyncEngine, stored: str) -> tuple[Tenant, str]:
    tenant = await make_tenant(engine)
    email = f"sup-{secrets.token_hex(3)}@example.vn"
    async with engine.begin() as conn:
        user = await users.create(conn, tenant.id, email, "placeholder-password")
        await conn.execute(
            update(dashboard_users)
            .where(dashboard_users.c.tenant_id == tenant.id, dashboard_users.c.id == user.id)
            .values(password_hash=stored)
        )
    return tenant, email


async def stored_hash(engine: AsyncEngine, tenant: Tenant) -> str:
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(dashboard_users.c.password_hash).where(dashboard_users.c.tenant_id == tenant.id)
        )
    assert value is not None
    return value


async def sign_in_status(engine: AsyncEngine, tenant: Tenant, email: str, password: str) -> int:
    async with browser(engine) as http:
        form = await http.get("/signin")
        data = {"csrf": csrf_of(form.text), "tenant": tenant.name, "email": email}
        return (await http.post("/signin", data={**data, "password": password})).status_code


def test_new_hashes_are_argon2id_at_owasp_parameters() -> None:
    stored = users.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(stored, PASSWORD)  # argon2-cffi reads it as is
    assert users.hash_password(PASSWORD) != stored  # salted


async def test_a_scrypt_hash_signs_in_and_is_replaced_by_argon2id(engine: AsyncEngine) -> None:
    legacy = scrypt_hash(PASSWORD)
    tenant, email = await user_with_hash(engine, legacy)

    assert await sign_in_status(engine, tenant, email, "wrong password!") == 401
    assert await stored_hash(engine, tenant) == legacy  # a failure changes nothing

    assert await sign_in_status(engine, tenant, email, PASSWORD) == 303
    upgraded = await stored_hash(engine, tenant)
    assert upgraded.startswith("$argon2id$")
    assert PasswordHasher().verify(upgraded, PASSWORD)

    assert await sign_in_status(engine, tenant, email, PASSWORD) == 303  # and again
    assert await stored_hash(engine, tenant) == upgraded  # current: not rehashed


async def test_weaker_argon2_parameters_are_raised_at_sign_in(engine: AsyncEngine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    tenant, email = await user_with_hash(engine, weak.hash(PASSWORD))
    assert await sign_in_status(engine, tenant, email, PASSWORD) == 303
    assert (await stored_hash(engine, tenant)).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize("stored", ["garbage", "scrypt$1$2", "$argon2id$v=19$m=1$broken", ""])
async def test_an_unreadable_hash_is_a_failed_sign_in(engine: AsyncEngine, stored: str) -> None:
    tenant, email = await user_with_hash(engine, stored)
    assert await sign_in_status(engine, tenant, email, PASSWORD) == 401


async def test_an_unknown_email_costs_a_hash_like_a_known_one(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No shortcut for an email that does not exist or a disabled user: each sign-in
    verifies one hash, so timing does not say which emails are accounts."""
    verified: list[str] = []
    real = users.check_password

    def counting(password: str, stored: str) -> tuple[bool, str | None]:
        verified.append(stored)
        return real(password, stored)

    monkeypatch.setattr(users, "check_password", counting)
    tenant, email = await user_with_hash(engine, users.hash_password(PASSWORD))
    assert await sign_in_status(engine, tenant, "nobody@example.vn", PASSWORD) == 401
    async with engine.begin() as conn:
        await conn.execute(
            update(dashboard_users)
            .where(dashboard_users.c.tenant_id == tenant.id)
            .values(active=False)
        )
    assert await sign_in_status(engine, tenant, email, PASSWORD) == 401
    assert len(verified) == 2
    assert all(h.startswith("$argon2id$") for h in verified)
