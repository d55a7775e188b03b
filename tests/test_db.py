"""`among`: one statement text whatever the number of values, the same rows as IN; the
legs' compression."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import among
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


async def test_writers_of_one_process_take_turns_in_arrival_order(engine: AsyncEngine) -> None:
    """SQLite: the process's writers queue for the one write lock instead of polling it
    through the busy handler; none is refused, one at a time, first come first served.
    PostgreSQL: writers run side by side (they lock only the rows they merge into)."""
    import asyncio

    from callhistory.db import writing

    inside: list[int] = []
    order: list[int] = []
    most = 0

    async def writer(n: int) -> None:
        nonlocal most
        async with writing(engine) as conn:
            inside.append(n)
            most = max(most, len(inside))
            order.append(n)
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.005)  # the others arrive meanwhile
            inside.remove(n)

    await asyncio.gather(*(writer(n) for n in range(12)))
    assert sorted(order) == list(range(12))
    if engine.dialect.name == "sqlite":
        assert most == 1
        assert order == list(range(12))
    else:
        assert most > 1
