"""FreeSWITCH legs, from their decoded documents to stored, enriched calls, many at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among, now_ms
from callhistory.ingest import lookups
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.formats.freeswitch import Leg, parse_leg
from callhistory.ingest.formats.freeswitch_merge import merge
from callhistory.ingest.store import Outcome
from callhistory.rows import insert_sql
from callhistory.schema import cdr_legs

MAX_CALLS_PER_QUERY = 1000


@dataclass(frozen=True)
class PostedLeg:
    """A leg as posted: the decoded document (kept as is) and what was parsed from it."""

    document: dict[str, Any]
    leg: Leg

    @property
    def key(self) -> tuple[str, str]:
        return (self.leg.call_id, self.leg.uuid)


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
    """One leg (see store_legs)."""
    (outcome,) = await store_legs(conn, tenant_id, [PostedLeg(document, leg)], recordings)
    if outcome is None:
        raise RuntimeError(f"the database refused call {leg.call_id}")
    return outcome


async def store_legs(
    conn: AsyncConnection,
    tenant_id: str,
    posted: Sequence[PostedLeg],
    recordings: RecordingUrls,
    *,
    isolated: bool = True,
) -> list[Outcome | None]:
    """Keep the legs (a leg seen before is kept as first seen), then recompute each of
    their calls from every leg kept so far, in the caller's transaction: a 2xx that
    follows its commit means the call is stored.

    Each leg's outcome is what it would have been posted alone, in order: the legs of one
    call in one batch make one entry each, merged from the legs before it and itself.
    `isolated`: as bulk.store_calls's."""
    if not posted:
        return []
    call_ids = list(dict.fromkeys(p.leg.call_id for p in posted))
    await lock_calls(conn, tenant_id, call_ids)
    if conn.dialect.name == "postgresql":
        added, before = await _keep_and_read(conn, tenant_id, call_ids, posted)
    else:
        added = await _keep(conn, tenant_id, posted)
        before = await _legs_before(conn, tenant_id, call_ids, added)
    merged = []
    for item in posted:
        legs = before[item.leg.call_id]
        if item.key in added and added[item.key] is item:
            legs.append(item.leg)  # the first post of a new leg: from here on, it counts
        merged.append(merge(legs))
    cache = await lookups.load(conn, tenant_id, merged)
    entries = [
        Entry(await enrich(conn, tenant_id, call, recordings, cache=cache)) for call in merged
    ]
    return await store_calls(conn, tenant_id, entries, isolated=isolated)


def _first_posts(posted: Sequence[PostedLeg]) -> dict[tuple[str, str], PostedLeg]:
    first: dict[tuple[str, str], PostedLeg] = {}
    for item in posted:
        first.setdefault(item.key, item)
    return first


def _leg_rows(tenant_id: str, first: dict[tuple[str, str], PostedLeg]) -> list[dict[str, Any]]:
    received = now_ms()
    return [
        {
            "tenant_id": tenant_id,
            "call_id": call_id,
            "leg_uuid": uuid,
            "received_at": received,
            "source": "freeswitch",
            "document": orjson.dumps(item.document).decode(),
        }
        for (call_id, uuid), item in first.items()
    ]


async def _keep_and_read(
    conn: AsyncConnection, tenant_id: str, call_ids: list[str], posted: Sequence[PostedLeg]
) -> tuple[dict[tuple[str, str], PostedLeg], dict[str, list[Leg]]]:
    """_keep and _legs_before in one round trip (PostgreSQL). The read sees the rows as
    they were when the statement began, after the calls' locks: every leg committed
    before, and none of those its own insert adds."""
    first = _first_posts(posted)
    insert, params = insert_sql(
        cdr_legs,
        _leg_rows(tenant_id, first),
        tail="ON CONFLICT DO NOTHING RETURNING call_id, leg_uuid",
    )
    tenant, ids = len(params) + 1, len(params) + 2
    statement = (
        f"WITH added AS ({insert}) SELECT call_id, leg_uuid, NULL FROM added"  # noqa: S608 - no input in the text
        f" UNION ALL SELECT call_id, leg_uuid, document FROM cdr_legs"
        f" WHERE tenant_id = ${tenant}::varchar AND source = 'freeswitch'"
        f" AND call_id = ANY(${ids}::varchar[])"
    )
    rows: list[Any] = list(await conn.exec_driver_sql(statement, (*params, tenant_id, call_ids)))
    added: dict[tuple[str, str], PostedLeg] = {}
    before: dict[str, list[Leg]] = {call_id: [] for call_id in call_ids}
    for call_id, uuid, document in rows:
        if document is None:
            added[(call_id, uuid)] = first[(call_id, uuid)]
        else:
            before[call_id].append(parse_leg(orjson.loads(document)))
    return added, before


async def _keep(
    conn: AsyncConnection, tenant_id: str, posted: Sequence[PostedLeg]
) -> dict[tuple[str, str], PostedLeg]:
    """Insert the legs not kept yet; the posts whose leg this insert added, by key (SQLite:
    PostgreSQL reads the legs before in the same statement, see _keep_and_read)."""
    first = _first_posts(posted)
    result = await conn.execute(
        sqlite.insert(cdr_legs)
        .on_conflict_do_nothing()
        .returning(cdr_legs.c.call_id, cdr_legs.c.leg_uuid),
        _leg_rows(tenant_id, first),
    )
    return {(call_id, uuid): first[(call_id, uuid)] for call_id, uuid in result}


async def _legs_before(
    conn: AsyncConnection,
    tenant_id: str,
    call_ids: list[str],
    added: dict[tuple[str, str], PostedLeg],
) -> dict[str, list[Leg]]:
    """Each call's legs kept before this batch (as they were first posted)."""
    before: dict[str, list[Leg]] = {call_id: [] for call_id in call_ids}
    for first in range(0, len(call_ids), MAX_CALLS_PER_QUERY):
        chunk = call_ids[first : first + MAX_CALLS_PER_QUERY]
        rows = await conn.execute(
            select(cdr_legs.c.call_id, cdr_legs.c.leg_uuid, cdr_legs.c.document).where(
                cdr_legs.c.tenant_id == tenant_id,
                cdr_legs.c.source == "freeswitch",
                among(cdr_legs.c.call_id, chunk),
            )
        )
        for call_id, uuid, document in rows:
            if (call_id, uuid) not in added:
                before[call_id].append(parse_leg(orjson.loads(document)))
    return before
