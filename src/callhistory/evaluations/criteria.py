"""The tenant's evaluation criteria: checking what a client sends, and storing it.

Criteria are never deleted, only deactivated, so past evaluations can still point at
them. Names are unique (compared folded) among the active ones only: a deactivated
criterion's name may be taken again by a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among, new_id, now_ms
from callhistory.envelope import ApiError, validation_error
from callhistory.schema import evaluation_criteria, tenants
from callhistory.text import fold

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_SCORE = 1000  # the highest max_score a criterion may have
MAX_WEIGHT = 1000
MAX_ACTIVE = 100  # an evaluation form longer than this is a mistake, not a form

_c = evaluation_criteria


@dataclass(frozen=True)
class CriterionIn:
    """What a create, update or import row gives; None is 'not given'."""

    name: str | None = None
    description: str | None = None
    max_score: int | None = None
    weight: float | None = None
    active: bool | None = None

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


# ---- checking ---------------------------------------------------------------------------


def _name(raw: Any) -> str:
    if not isinstance(raw, str):
        raise validation_error("name", "must_be_a_string")
    name = " ".join(raw.split())  # trimmed, inner runs of spaces made one, as tags are
    if not name:
        raise validation_error("name", "empty")
    if len(name) > MAX_NAME:
        raise validation_error("name", "too_long")
    return name


def _description(raw: Any) -> str:
    if not isinstance(raw, str):
        raise validation_error("description", "must_be_a_string")
    if len(raw.strip()) > MAX_DESCRIPTION:
        raise validation_error("description", "too_long")
    return raw.strip()


def _max_score(raw: Any) -> int:
    whole = isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
    if isinstance(raw, bool) or not whole:
        raise validation_error("max_score", "must_be_an_integer")
    if not 1 <= raw <= MAX_SCORE:
        raise validation_error("max_score", "out_of_range")
    return int(raw)


def _weight(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise validation_error("weight", "must_be_a_number")
    if not 0 < raw <= MAX_WEIGHT:
        raise validation_error("weight", "out_of_range")
    return float(raw)


def _active(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise validation_error("active", "must_be_true_or_false")
    return raw


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "description": _description,
    "max_score": _max_score,
    "weight": _weight,
    "active": _active,
}


def parse(body: Mapping[str, Any], *, creating: bool) -> CriterionIn:
    """A create (name and max_score required) or a partial update (at least one field)."""
    if creating:
        for required in ("name", "max_score"):
            if body.get(required) is None:
                raise validation_error(required, "required")
    given = {key: check(body[key]) for key, check in _CHECKS.items() if body.get(key) is not None}
    if not given:
        raise validation_error("body", "nothing_to_change")
    return CriterionIn(**given)


# ---- storing ----------------------------------------------------------------------------


async def _lock_catalogue(conn: AsyncConnection, tenant_id: str) -> None:
    """Serialise criteria writes per tenant on PostgreSQL, so two writers cannot both
    take one name or one position; SQLite's `writing` already holds the write lock."""
    await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())


async def listing(
    conn: AsyncConnection, tenant_id: str, include_inactive: bool = False
) -> list[Row[Any]]:
    """In the form's order; deactivated ones (when asked for) after the active ones."""
    query = select(_c).where(_c.c.tenant_id == tenant_id)
    if not include_inactive:
        query = query.where(_c.c.active.is_(True))
    order = (_c.c.active.desc(), _c.c.position, _c.c.id)
    return list((await conn.execute(query.order_by(*order))).all())


async def by_ids(conn: AsyncConnection, tenant_id: str, ids: Sequence[str]) -> dict[str, Row[Any]]:
    rows = await conn.execute(
        select(_c).where(_c.c.tenant_id == tenant_id, among(_c.c.id, list(ids)))
    )
    return {row.id: row for row in rows}


async def get(conn: AsyncConnection, tenant_id: str, criteria_id: str) -> Row[Any]:
    row = (await by_ids(conn, tenant_id, [criteria_id])).get(criteria_id)
    if row is None:
        raise ApiError(404, "criteria_not_found")
    return row


def _check_name_free(active: Sequence[Row[Any]], name: str, own_id: str | None) -> None:
    folded = fold(name)
    if any(fold(row.name) == folded and row.id != own_id for row in active):
        raise ApiError(409, "criteria_name_exists")


async def _next_position(conn: AsyncConnection, tenant_id: str) -> int:
    last = await conn.scalar(select(func.max(_c.c.position)).where(_c.c.tenant_id == tenant_id))
    return int(last or 0) + 1


async def create(conn: AsyncConnection, tenant_id: str, new: CriterionIn) -> Row[Any]:
    """A new active criterion, last in the form."""
    assert new.name is not None and new.max_score is not None  # parse(creating=True) saw to it
    await _lock_catalogue(conn, tenant_id)
    active = await listing(conn, tenant_id)
    if len(active) >= MAX_ACTIVE:
        raise ApiError(409, "too_many_criteria")
    _check_name_free(active, new.name, None)
    created, criteria_id = now_ms(), new_id()
    await conn.execute(
        _c.insert().values(
            tenant_id=tenant_id,
            id=criteria_id,
            name=new.name,
            description=new.description or "",
            max_score=new.max_score,
            weight=1.0 if new.weight is None else new.weight,
            position=await _next_position(conn, tenant_id),
            active=True,
            created_at=created,
            updated_at=created,
        )
    )
    return await get(conn, tenant_id, criteria_id)


async def update_one(
    conn: AsyncConnection, tenant_id: str, criteria_id: str, change: CriterionIn
) -> Row[Any]:
    """Change the given fields; reactivating puts the criterion last in the form."""
    await _lock_catalogue(conn, tenant_id)
    old = await get(conn, tenant_id, criteria_id)
    values = change.given()
    stays_active = old.active if change.active is None else change.active
    if stays_active:
        active = await listing(conn, tenant_id)
        if not old.active and len(active) >= MAX_ACTIVE:
            raise ApiError(409, "too_many_criteria")
        _check_name_free(active, change.name or old.name, criteria_id)
    if stays_active and not old.active:
        values["position"] = await _next_position(conn, tenant_id)
    await conn.execute(
        update(_c)
        .where(_c.c.tenant_id == tenant_id, _c.c.id == criteria_id)
        .values(**values, updated_at=now_ms())
    )
    return await get(conn, tenant_id, criteria_id)


async def reorder(conn: AsyncConnection, tenant_id: str, ids: Sequence[str]) -> None:
    """The given criteria first, in the given order; the others after, in their order."""
    await _lock_catalogue(conn, tenant_id)
    rows = await listing(conn, tenant_id, include_inactive=True)
    known = {row.id: row for row in rows}
    if any(criteria_id not in known for criteria_id in ids):
        raise ApiError(404, "criteria_not_found")
    given = set(ids)
    rest = sorted((r for r in rows if r.id not in given), key=lambda r: (r.position, r.id))
    order = [known[i] for i in ids] + rest
    moved = [
        {"b_id": row.id, "b_position": index}
        for index, row in enumerate(order, start=1)
        if row.position != index
    ]
    if moved:
        await conn.execute(
            update(_c)
            .where(_c.c.tenant_id == tenant_id, _c.c.id == bindparam("b_id"))
            .values(position=bindparam("b_position")),
            moved,
        )


async def import_rows(
    conn: AsyncConnection, tenant_id: str, rows: Sequence[CriterionIn]
) -> dict[str, int]:
    """Create or update by name (folded, among the active ones); counts by outcome."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for new in rows:
        active = {fold(row.name): row for row in await listing(conn, tenant_id)}
        old = active.get(fold(new.name or ""))
        if old is None:
            await create(conn, tenant_id, new)
            counts["created"] += 1
            continue
        wanted = replace(new, description=new.description or "", weight=new.weight or 1.0)
        if all(getattr(old, key) == value for key, value in wanted.given().items()):
            counts["unchanged"] += 1
            continue
        await update_one(conn, tenant_id, old.id, wanted)
        counts["updated"] += 1
    return counts
