"""Reading the change feed safely, and the opaque cursors that page through it.

Order is (xid, seq). On SQLite xid is 0 and seq comes from a counter bumped under the
single writer lock, so seq order is commit order. On PostgreSQL sequence values are
taken before commit and commit out of order, so ordering by seq alone could let a
reader pass a change that commits later with a smaller seq. Instead rows are ordered by
the writing transaction's id first, and only rows whose xid is below the reader's
snapshot xmin are served: every transaction below xmin has finished, and every one that
finishes later has an xid at or above it, so it sorts after anything already served.
The price: the feed lags by as long as this database's oldest write transaction runs.

Retention (sync.pruning) removes a prefix of a tenant's feed and records where it ends
(`Pruned`); a reader whose place is before it answers 410 cursor_expired, and a new
reader whose window reaches into it reads the calls themselves first (sync.snapshot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.envelope import ApiError
from callhistory.schema import call_changes, sync_horizons

MAX_PAGE = 500

_HORIZON = """
WITH snap AS (SELECT CAST(CAST(:snapshot AS text) AS pg_snapshot) AS s),
mine AS (
  SELECT backend_xid::text::bigint AS xid32 FROM pg_stat_activity
  WHERE datname = current_database() AND backend_xid IS NOT NULL
)
SELECT coalesce(
  (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
   WHERE x::text::bigint % 4294967296 IN (SELECT xid32 FROM mine)),
  (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
)::text
"""


@dataclass(frozen=True, order=True)
class Position:
    """A place in a tenant's feed: after the change (xid, seq); ordered as the feed."""

    xid: int
    seq: int


START = Position(-1, -1)

Key = tuple[int, str]  # (created_date, transaction_id): a place among the calls themselves


@dataclass(frozen=True)
class Place:
    """Where a reader is: after `after` in the feed, reading changes made since `from_ms`.
    While `snapshot` is set it is still reading the calls themselves (after that key),
    and goes on in the feed from `after` once they are all read."""

    after: Position
    from_ms: int
    snapshot: Key | None = None


@dataclass(frozen=True)
class Pruned:
    """How far retention has pruned a tenant's feed: every change up to `position`, the
    latest of which changed at `changed_until`."""

    position: Position
    changed_until: int

    def hides(self, place: Place) -> bool:
        """Whether a reader at `place` would have read a pruned change: one after its
        place, in its window. (Conservative: `changed_until` is the latest of them all.)"""
        return place.after < self.position and place.from_ms <= self.changed_until


@dataclass(frozen=True)
class Change:
    xid: int
    seq: int
    transaction_id: str
    kind: str
    changed_at: int

    @property
    def position(self) -> Position:
        return Position(self.xid, self.seq)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text_: str) -> bytes:
    return base64.urlsafe_b64decode(text_ + "=" * (-len(text_) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"sync-cursor\x00" + payload, hashlib.sha256).digest()[:16]


def encode_cursor(secret: str, tenant_id: str, place: Place) -> str:
    """An opaque cursor, signed and bound to the tenant: another tenant's is refused."""
    data: dict[str, Any] = {
        "t": tenant_id,
        "x": place.after.xid,
        "s": place.after.seq,
        "f": place.from_ms,
    }
    if place.snapshot is not None:
        data["k"] = list(place.snapshot)
    payload = orjson.dumps(data)
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def decode_cursor(secret: str, tenant_id: str, cursor: str) -> Place:
    try:
        body, mac = cursor.split(".", 1)
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(secret, payload)):
            raise ValueError("bad signature")
        data: dict[str, Any] = orjson.loads(payload)
        if data["t"] != tenant_id:
            raise ValueError("another tenant's cursor")
        key = data.get("k")
        snapshot = None if key is None else (int(key[0]), str(key[1]))
        return Place(Position(int(data["x"]), int(data["s"])), int(data["f"]), snapshot)
    except (ValueError, KeyError, TypeError, IndexError, orjson.JSONDecodeError) as exc:
        raise ApiError(400, "cursor_invalid") from exc


async def pruned(conn: AsyncConnection, tenant_id: str) -> Pruned | None:
    """How far the tenant's feed has been pruned (None: never). Read it AFTER reading the
    feed: a prune that committed before that read is then seen here, so a page missing
    pruned changes is never served as complete."""
    row = (
        await conn.execute(select(sync_horizons).where(sync_horizons.c.tenant_id == tenant_id))
    ).first()
    if row is None:
        return None
    return Pruned(Position(int(row.xid), int(row.seq)), int(row.changed_until))


async def snapshot_anchor(conn: AsyncConnection, tenant_id: str) -> Position:
    """A place such that every change at or before it has committed by now (a read of
    the calls after this sees it) and every change committing later sorts after it."""
    limit_xid = await horizon(conn)
    if limit_xid is None:  # SQLite: serial writers, so the newest change is such a place
        return await last_position(conn, tenant_id)
    # Every transaction below the horizon has finished; every later one is at or above it.
    return Position(limit_xid, -1)


async def horizon(conn: AsyncConnection) -> int | None:
    """The xid below which every transaction has finished (None: no limit, SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    # The snapshot's xmin would do, but it is cluster-wide: a long transaction in another
    # database would hold the feed back. Only this database's in-flight transactions can
    # write call_changes, so the horizon is the oldest of those (matched by their 32-bit
    # xid), else the snapshot's xmax (every xid below it had finished or is in-flight).
    # The snapshot is taken first, in its own statement, so that any transaction missing
    # from the activity list read after it got its xid later, at or above the xmax.
    snapshot = await conn.scalar(text("SELECT pg_current_snapshot()::text"))
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    value = await conn.scalar(text(_HORIZON), {"snapshot": snapshot})
    return int(str(value))


async def read(
    conn: AsyncConnection,
    tenant_id: str,
    after: Position,
    limit: int,
    from_ms: int = 0,
) -> list[Change]:
    """Up to `limit` finished changes after `after`, oldest first."""
    conds = [
        call_changes.c.tenant_id == tenant_id,
        or_(
            call_changes.c.xid > after.xid,
            and_(call_changes.c.xid == after.xid, call_changes.c.seq > after.seq),
        ),
    ]
    if from_ms:
        conds.append(call_changes.c.changed_at >= from_ms)
    limit_xid = await horizon(conn)
    if limit_xid is not None:
        conds.append(call_changes.c.xid < limit_xid)
    rows = await conn.execute(
        select(
            call_changes.c.xid,
            call_changes.c.seq,
            call_changes.c.transaction_id,
            call_changes.c.kind,
            call_changes.c.changed_at,
        )
        .where(*conds)
        .order_by(call_changes.c.xid, call_changes.c.seq)
        .limit(limit)
    )
    return [
        Change(int(r.xid), int(r.seq), r.transaction_id, r.kind, int(r.changed_at)) for r in rows
    ]


async def last_position(conn: AsyncConnection, tenant_id: str) -> Position:
    """The newest change of the tenant (finished or not): "from now on"."""
    row = (
        await conn.execute(
            select(call_changes.c.xid, call_changes.c.seq)
            .where(call_changes.c.tenant_id == tenant_id)
            .order_by(call_changes.c.xid.desc(), call_changes.c.seq.desc())
            .limit(1)
        )
    ).first()
    return START if row is None else Position(int(row.xid), int(row.seq))


def latest_per_call(changes: Sequence[Change]) -> list[Change]:
    """One change per call, at the place of its last change (a mirror wants the state)."""
    last: dict[str, Change] = {}
    for change in changes:
        last.pop(change.transaction_id, None)  # re-insert: keeps the latest place
        last[change.transaction_id] = change
    return list(last.values())
