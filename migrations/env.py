"""Alembic environment: runs on the connection callhistory hands it (db.migrate), or on
CALLHISTORY_DATABASE_URL when started from the `alembic` command line."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.schema import metadata


def _run(connection: Connection) -> None:
    def include(obj: Any, _name: Any, type_: str, reflected: bool, _compare_to: Any) -> bool:
        # an index made for one dialect only (`.ddl_if(dialect=...)`) is not missing elsewhere
        ddl_if = getattr(obj, "_ddl_if", None)
        if type_ == "index" and not reflected and ddl_if is not None and ddl_if.dialect:
            return bool(ddl_if.dialect == connection.dialect.name)
        return True

    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url() -> None:
    engine = create_engine(get_settings().database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_from_url())
