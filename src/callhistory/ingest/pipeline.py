"""One FreeSWITCH leg, from its decoded document to the stored, enriched call."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import now_ms
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.freeswitch import Leg, parse_leg
from callhistory.ingest.merge import merge
from callhistory.ingest.store import Outcome, upsert_call
from callhistory.schema import cdr_legs


async def ingest_freeswitch_leg(
    conn: AsyncConnection,
    tenant_id: str,
    document: dict[str, Any],
    leg: Leg,
    recordings: RecordingUrls,
) -> Outcome:
    """Keep the leg, then recompute its call from every leg so far (in the caller's
    transaction: the 2xx that follows means the call is committed)."""
    if conn.dialect.name == "postgresql":
        # Legs of one call posted at once wait for each other, so each merge sees the
        # legs committed before it (SQLite's BEGIN IMMEDIATE already serialises writers).
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"{tenant_id}/{leg.call_id}"},
        )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(cdr_legs)
        .values(
            tenant_id=tenant_id,
            call_id=leg.call_id,
            leg_uuid=leg.uuid,
            received_at=now_ms(),
            source="freeswitch",
            document=orjson.dumps(document).decode(),
        )
        .on_conflict_do_nothing()
    )
    stored = await conn.execute(
        select(cdr_legs.c.document).where(
            cdr_legs.c.tenant_id == tenant_id, cdr_legs.c.call_id == leg.call_id
        )
    )
    legs = [parse_leg(orjson.loads(doc)) for (doc,) in stored]
    record = await enrich(conn, tenant_id, merge(legs), recordings)
    return await upsert_call(conn, tenant_id, record)
