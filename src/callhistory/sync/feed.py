"""Reading the change feed safely, and the opaque cursors that page through it.

Order is (xid, seq). On SQLite xid is 0 and seq comes from a counter bumped under the
single writer lock, so seq order is commit order. On PostgreSQL sequence values are
taken before commit and commit out of order, so ordering by seq alone could let a
reader pass a change that commits later with a smaller seq. Instead rows are ordered by
the writing transaction's id first, and only rows whose xid is below the reader's
snapshot xmin are served: every transaction below xmin has finished, and every one that
finishes later has an xid at or above it, so it sorts after anything already served.
The price: the feed lags by as long as this database's oldest write transaction runs.
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
from callhistory.schema import call_changes

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


@dataclass(frozen=True)
class Position:
    """A place in a tenant's feed: after the change (xid, seq)."""

    xid: int
    seq: int


START = Position(-1, -1)


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


def encode_cursor(secret: str, tenant_id: str, after: Position, from_ms: int) -> str:
    """An opaque cursor, signed and bound to the tenant: another tenant's is refused."""
    payload = orjson.dumps({"t": tenant_id, "x": after.xid, "s": after.seq, "f": from_ms})
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def decode_cursor(secret: str, tenant_id: str, cursor: str) -> tuple[Position, int]:
    try:
        body, mac = cursor.split(".", 1)
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(secret, payload)):
            raise ValueError("bad signature")
        data: dict[str, Any] = orjson.loads(payload)
        if data["t"] != tenant_id:
            raise ValueError("another tenant's cursor")
        return Position(int(data["x"]), int(data["s"])), int(data["f"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ApiError(400, "cursor_invalid") from exc


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
