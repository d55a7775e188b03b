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
