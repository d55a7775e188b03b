"""`callhistory user create --tenant T EMAIL`: a dashboard user who signs in with a password."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.cli_support import err, fail, run_with_engine
from callhistory.dashboard import users
from callhistory.schema import dashboard_users

user_app = typer.Typer(help="Dashboard users (password sign-in).", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:  # for scripts: the password never shows in the process list
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("create")
def user_create(
    email: str,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a dashboard user; asks for the password (at least 8 characters)."""
    if "@" not in email:
        raise fail(f"not an email address: {email!r}")
    password = _password(password_stdin)
    if len(password) < users.MIN_PASSWORD:
        raise fail(f"the password needs at least {users.MIN_PASSWORD} characters")

    async def work(engine: AsyncEngine) -> str:
        async with engine.begin() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            taken = await conn.scalar(
                select(dashboard_users.c.id).where(
                    dashboard_users.c.tenant_id == found.id,
                    dashboard_users.c.email == email.strip().lower(),
                )
            )
            if taken:
                raise fail(f"user {email!r} already exists in {tenant!r}")
            return (await users.create(conn, found.id, email, password)).id

    user_id = run_with_engine(work)
    err.print(f"user {email.lower()} created in tenant {tenant}")
    typer.echo(user_id)
