"""`among`: one statement text whatever the number of values, the same rows as IN;
`checks_planned_once`: where PostgreSQL may keep plans."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import among, checks_planned_once, writing
from callhistory.schema import tenants


@pytest.mark.parametrize(
    "wanted",
    [[], ["t-among-a"], ["t-among-b", "t-among-c"], ["t-among-a", "t-among-c", "nobody"]],
)
async def test_among_selects_what_in_selects(engine: AsyncEngine, wanted: list[str]) -> None:
    names = ["t-among-a", "t-among-b", "t-among-c"]
    async with engine.begin() as conn:
        await conn.execute(tenants.delete().where(tenants.c.id.in_(names)))
        await conn.execute(
            tenants.insert(),
            [{"id": n, "name": n, "time_zone": "UTC", "created_at": 0} for n in names],
        )
    try:
        async with engine.connect() as conn:
            ours = select(tenants.c.id).where(tenants.c.id.in_(names)).order_by(tenants.c.id)
            found = (await conn.execute(ours.where(among(tenants.c.id, wanted)))).scalars()
            left = (await conn.execute(ours.where(~among(tenants.c.id, wanted)))).scalars()
            assert list(found) == sorted(set(wanted) & set(names))
            assert list(left) == sorted(set(names) - set(wanted))
    finally:
        async with engine.begin() as conn:
            await conn.execute(tenants.delete().where(tenants.c.id.in_(names)))


def test_one_statement_text_for_any_number_of_values_on_postgresql() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    def text(values: list[str], dialect: object) -> str:
        query = select(tenants.c.id).where(among(tenants.c.id, values))
        return str(query.compile(dialect=dialect))  # type: ignore[arg-type]

    pg = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
    assert text(["a"], pg) == text(["a", "b", "c"], pg)
    assert "= ANY" in text(["a"], pg)
    # SQLite has no arrays: an IN list, rendered per length at run time, and no `= 1`
    assert text(["a"], sqlite.dialect()).rstrip().endswith("IN (__[POSTCOMPILE_id_1])")


async def _plan_cache_mode(conn: AsyncConnection) -> str:
    return str((await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar())


async def test_inserts_keep_their_checks_plans_and_nothing_else(engine: AsyncEngine) -> None:
    """Inside checks_planned_once PostgreSQL may keep plans (foreign-key checks); before,
    after, and after a failure rolled back, every statement is planned for its values."""
    if engine.dialect.name != "postgresql":
        async with writing(engine) as conn, checks_planned_once(conn):
            return  # nothing to set: SQLite plans each statement itself
    async with writing(engine) as conn:
        assert await _plan_cache_mode(conn) == "force_custom_plan"
        async with checks_planned_once(conn):
            assert await _plan_cache_mode(conn) == "auto"
        assert await _plan_cache_mode(conn) == "force_custom_plan"
        with pytest.raises(DBAPIError):
            async with conn.begin_nested(), checks_planned_once(conn):
                await conn.exec_driver_sql("SELECT 1 / 0")
        assert await _plan_cache_mode(conn) == "force_custom_plan"
    async with engine.connect() as conn:
        assert await _plan_cache_mode(conn) == "force_custom_plan"


async def test_the_legs_documents_are_compressed_with_lz4(engine: AsyncEngine) -> None:
    """Migration 0015: lz4 where the server has it (Debian's PostgreSQL does; the CI's
    too), a quarter of pglz's time for a FreeSWITCH leg."""
    if engine.dialect.name != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    async with engine.connect() as conn:
        method = await conn.scalar(
            text(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'cdr_legs'::regclass AND attname = 'document'"
            )
        )
    assert method == b"l"  # a "char", which asyncpg gives as bytes
