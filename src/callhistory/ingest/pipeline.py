"""One FreeSWITCH leg, from its decoded document to the stored, enriched call."""

from __future__ import annotations

from collections.abc import Sequence
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


async def lock_calls(conn: AsyncConnection, tenant_id: str, call_ids: Sequence[str]) -> None:
    """Until the transaction ends, hold each call against other writers of its legs, so
    each merge sees the legs committed before it. Taken in one order (sorted), so two
    writers of overlapping calls cannot deadlock. SQLite's BEGIN IMMEDIATE already
    serialises writers."""
    if conn.dialect.name != "postgresql" or not call_ids:
        return
    keys = sorted({f"{tenant_id}/{call_id}" for call_id in call_ids})
    await conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h"
            " FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS sorted_keys"
        ),
        {"keys": keys},
    )


async def ingest_freeswitch_leg(
    conn: AsyncConnection,
    tenant_id: str,
    document: dict[str, Any],
    leg: Leg,
    recordings: RecordingUrls,
) -> Outcome:
    """Keep the leg, then recompute its call from every leg so far (in the caller's
    transaction: the 2xx that follows means the call is committed)."""
    await lock_calls(conn, tenant_id, [leg.call_id])
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
