"""Hooks and their deliveries in the database; the fan-out of changes into deliveries.

The outbox is `call_changes`, written by triggers in the same transaction as every
change of a call. The worker turns a tenant's new changes into one delivery per
subscribed hook and moves the tenant's cursor in ONE transaction, so a change becomes
deliveries exactly once, even if the worker dies half-way.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory import secrets_box
from callhistory.calls import queries
from callhistory.calls.params import DAY_MS
from callhistory.db import new_id, now_ms
from callhistory.envelope import validation_error
from callhistory.schema import webhook_cursors, webhook_deliveries, webhooks
from callhistory.sync import feed
from callhistory.sync.routes import sync_item

EVENTS = ("ringing", "answered", "hangup", "updated", "deleted")
HOOK_TYPES = ("call",)
FAN_OUT_BATCH = 500
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64


@dataclass(frozen=True)
class Hook:
    tenant_id: str
    id: str
    hook_type: str
    url: str
    events: list[str]
    secret: str  # in clear, only on the Hook `register` returns (shown once); else ""
    status: str
    created_at: int
    failing_since: int | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.hook_type,
            "url": self.url,
            "events": self.events,
            "status": self.status,
            "created_at": self.created_at,
            "failing_since": self.failing_since,
        }


def _hook(row: Any) -> Hook:
    return Hook(
        row.tenant_id,
        row.id,
        row.hook_type,
        row.url,
        list(row.events),
        "",  # stored encrypted; only the worker opens it, to sign
        row.status,
        row.created_at,
        row.failing_since,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_secret() -> str:
    """`whsec_` + standard base64 of random bytes: what Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: Any, development: bool) -> str:
    """HTTPS only; plain HTTP to a loopback address only in development (local tests)."""
    if not isinstance(url, str) or len(url) > 2000:
        raise validation_error("webhook.url", "must_be_a_url")
    parts = urlsplit(url.strip())
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise validation_error("webhook.url", "must_be_a_url")
    if parts.scheme == "http" and not (development and _is_loopback(parts.hostname)):
        raise validation_error("webhook.url", "https_required")
    return url.strip()


def check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise validation_error("webhook.events", "must_be_a_list_of_events")
    if any(e not in EVENTS for e in events):
        raise validation_error("webhook.events", "invalid_choice")
    return list(dict.fromkeys(events))


async def hooks_of(conn: AsyncConnection, tenant_id: str) -> list[Hook]:
    rows = await conn.execute(
        select(webhooks).where(webhooks.c.tenant_id == tenant_id).order_by(webhooks.c.hook_type)
    )
    return [_hook(r) for r in rows]


async def register(
    conn: AsyncConnection, tenant_id: str, hook_type: str, url: str, events: list[str]
) -> Hook:
    """Create the tenant's hook of this type, or update it in place (same id, so its
    deliveries stay) with a new secret; either way it is active again. The secret is
    stored encrypted; the Hook returned carries it in clear, to show it once."""
    secret = new_secret()
    sealed = secrets_box.box().seal(secret)
    key = (webhooks.c.tenant_id == tenant_id) & (webhooks.c.hook_type == hook_type)
    changed = await conn.execute(
        update(webhooks)
        .where(key)
        .values(url=url, events=events, secret=sealed, status="active", failing_since=None)
    )
    if not changed.rowcount:
        await conn.execute(
            webhooks.insert().values(
                tenant_id=tenant_id,
                id=new_id(),
                hook_type=hook_type,
                url=url,
                events=events,
                secret=sealed,
                status="active",
                created_at=now_ms(),
            )
        )
    hook = replace(_hook((await conn.execute(select(webhooks).where(key))).one()), secret=secret)
    has_cursor = await conn.scalar(
        select(func.count())
        .select_from(webhook_cursors)
        .where(webhook_cursors.c.tenant_id == tenant_id)
    )
    if not has_cursor:  # start at "now": history is for sync, not for webhooks
        start = await feed.last_position(conn, tenant_id)
        await conn.execute(
            webhook_cursors.insert().values(tenant_id=tenant_id, xid=start.xid, seq=start.seq)
        )
    return hook


async def destroy(conn: AsyncConnection, tenant_id: str, hook_type: str) -> bool:
    result = await conn.execute(
        webhooks.delete().where(
            webhooks.c.tenant_id == tenant_id, webhooks.c.hook_type == hook_type
        )
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class Resealed:
    resealed: int  # re-encrypted under the first key (legacy plaintext included)
    current: int  # already under the first key
    unreadable: list[tuple[str, str]]  # (tenant_id, hook id) no configured key opens


async def reseal_secrets(conn: AsyncConnection, tenant_id: str | None = None) -> Resealed:
    """Re-encrypt every hook's secret (or only a tenant's) under the first key of
    CALLHISTORY_SECRETS_KEY, in the caller's transaction. A row changed meanwhile
    (registered again) is left as the new registration wrote it: under that key."""
    sealer = secrets_box.box()
    query = select(webhooks.c.tenant_id, webhooks.c.id, webhooks.c.secret)
    if tenant_id is not None:
        query = query.where(webhooks.c.tenant_id == tenant_id)
    rows = (await conn.execute(query)).all()
    resealed, current, unreadable = 0, 0, []
    for row in rows:
        if sealer.is_current(row.secret):
            current += 1
            continue
        try:
            fresh = sealer.reseal(row.secret)
        except secrets_box.SecretUnreadable:
            unreadable.append((row.tenant_id, row.id))
            continue
        await conn.execute(
            update(webhooks)
            .where(
                webhooks.c.tenant_id == row.tenant_id,
                webhooks.c.id == row.id,
                webhooks.c.secret == row.secret,
            )
            .values(secret=fresh)
        )
        resealed += 1
    return Resealed(resealed, current, unreadable)


async def tenants_with_hooks(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(select(webhooks.c.tenant_id).distinct())
    return [r.tenant_id for r in rows]


def _event(kinds: set[str], view: queries.CallView) -> str:
    if view.row.is_deleted:  # erased on request (calls.deletion)
        return "deleted"
    # Our ingest learns of a call once it has ended: its first appearance is its hang-up.
    return "hangup" if "insert" in kinds else "updated"


async def fan_out(conn: AsyncConnection, tenant_id: str, now: int) -> int:
    """Turn the tenant's next changes into deliveries (caller's transaction); how many
    changes were consumed."""
    query = select(webhook_cursors).where(webhook_cursors.c.tenant_id == tenant_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # one fan-out per tenant at a time
    cursor = (await conn.execute(query)).first()
    hooks = [h for h in await hooks_of(conn, tenant_id) if h.status == "active"]
    if cursor is None or not hooks:
        return 0
    changes = await feed.read(
        conn, tenant_id, feed.Position(int(cursor.xid), int(cursor.seq)), FAN_OUT_BATCH
    )
    if not changes:
        return 0
    kinds: dict[str, set[str]] = {}
    for change in changes:
        kinds.setdefault(change.transaction_id, set()).add(change.kind)
    latest = feed.latest_per_call(changes)
    views = {
        v.row.transaction_id: v
        for v in await queries.by_ids(conn, tenant_id, [c.transaction_id for c in latest])
    }
    rows = []
    for change in latest:
        view = views.get(change.transaction_id)
        if view is None:
            continue
        event = _event(kinds[change.transaction_id], view)
        body = orjson.dumps({"event": event, **sync_item(view, tenant_id)}).decode()
        for hook in hooks:
            if event in hook.events and change.changed_at >= hook.created_at:
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "id": new_id(),
                        "hook_id": hook.id,
                        "event": event,
                        "transaction_id": change.transaction_id,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                        "retry_until": now + DAY_MS,
                        "next_attempt_at": now,
                    }
                )
    if rows:
        await conn.execute(webhook_deliveries.insert(), rows)
    last = changes[-1]
    await conn.execute(
        update(webhook_cursors)
        .where(webhook_cursors.c.tenant_id == tenant_id)
        .values(xid=last.xid, seq=last.seq)
    )
    return len(changes)


def delivery_public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "hook_id": row.hook_id,
        "event": row.event,
        "transaction_id": row.transaction_id,
        "status": row.status,
        "attempts": row.attempts,
        "response_code": row.response_code,
        "error": row.error,
        "created_at": row.created_at,
        "last_attempt_at": row.last_attempt_at,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
    }


async def recent_deliveries(
    conn: AsyncConnection, tenant_id: str, status: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(webhook_deliveries).where(webhook_deliveries.c.tenant_id == tenant_id)
    if status:
        query = query.where(webhook_deliveries.c.status == status)
    rows = await conn.execute(
        query.order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id).limit(limit)
    )
    return [delivery_public(r) for r in rows]


async def redeliver(conn: AsyncConnection, tenant_id: str, delivery_id: str, now: int) -> bool:
    """Send a delivery again (same id, same body), with a fresh 24 h of retries."""
    result = await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.id == delivery_id)
        .values(status="pending", next_attempt_at=now, retry_until=now + DAY_MS)
    )
    return bool(result.rowcount)
