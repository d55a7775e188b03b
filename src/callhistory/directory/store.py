"""Writing the directories (bulk upserts) and the lookups call enrichment makes.

Every statement is filtered by tenant_id: a tenant's upsert can neither match nor
change another tenant's rows, even when emails, extensions or phones coincide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Row, Table, and_, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among, new_id
from callhistory.directory import items
from callhistory.directory.items import (
    AgentIn,
    CustomerIn,
    FieldError,
    HotlineIn,
    InvalidItem,
    Kind,
    PriceIn,
    QueueIn,
)
from callhistory.phones import national
from callhistory.schema import agents, customer_phones, customers, hotlines, price_rates, queues
from callhistory.text import unsigned

Status = Literal["stored", "updated", "unchanged", "rejected"]
STATUSES: tuple[Status, ...] = ("stored", "updated", "unchanged", "rejected")
T = TypeVar("T")


# ---- the lookups ingest makes ---------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    id: str
    email: str | None
    full_name: str
    sip_user: str | None
    user_uuid: str | None


@dataclass(frozen=True)
class CustomerRow:
    id: str
    code: str | None
    full_name: str
    phone: str | None  # the main number, national form


@dataclass(frozen=True)
class TenantNumbers:
    extensions: frozenset[str]  # agents' sip_user
    hotlines: frozenset[str]  # national form
    queues: frozenset[str]


_AGENT_ROW = (
    agents.c.id,
    agents.c.email,
    agents.c.full_name,
    agents.c.sip_user,
    agents.c.user_uuid,
)


async def agents_by_extension(
    conn: AsyncConnection, tenant_id: str, extensions: Sequence[str]
) -> dict[str, AgentRow]:
    """The active agents on these extensions, by extension."""
    if not extensions:
        return {}
    rows = await conn.execute(
        select(*_AGENT_ROW)
        .where(
            agents.c.tenant_id == tenant_id,
            among(agents.c.sip_user, list(dict.fromkeys(extensions))),
            agents.c.active.is_(True),
        )
        .order_by(agents.c.id.desc())  # should two share one, the answer is stable
    )
    return {row.sip_user: AgentRow(*row) for row in rows}


async def customer_by_phone(
    conn: AsyncConnection, tenant_id: str, number: str
) -> CustomerRow | None:
    """The customer holding this number, written as 0…, 84… or +84…."""
    phone = national(number)
    if not phone:
        return None
    row = (
        await conn.execute(
            select(customers.c.id, customers.c.code, customers.c.full_name, customers.c.phone)
            .join(
                customer_phones,
                and_(
                    customer_phones.c.tenant_id == customers.c.tenant_id,
                    customer_phones.c.customer_id == customers.c.id,
                ),
            )
            .where(customer_phones.c.tenant_id == tenant_id, customer_phones.c.phone == phone)
        )
    ).first()
    return CustomerRow(*row) if row else None


async def tenant_numbers(conn: AsyncConnection, tenant_id: str) -> TenantNumbers:
    """The tenant's own numbers: extensions, hotlines and queues, in one round trip."""
    query = union_all(
        select(literal("e").label("kind"), agents.c.sip_user.label("number")).where(
            agents.c.tenant_id == tenant_id, agents.c.sip_user.is_not(None)
        ),
        select(literal("h"), hotlines.c.number).where(hotlines.c.tenant_id == tenant_id),
        select(literal("q"), queues.c.number).where(queues.c.tenant_id == tenant_id),
    )
    found: dict[str, set[str]] = {"e": set(), "h": set(), "q": set()}
    for kind, number in await conn.execute(query):
        found[kind].add(number)
    return TenantNumbers(*(frozenset(found[k]) for k in ("e", "h", "q")))


# ---- bulk upserts --------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResult:
    index: int
    status: Status
    id: str | None = None
    errors: tuple[FieldError, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "id": self.id, "errors": self.errors}


@dataclass
class BulkReport:
    results: list[ItemResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def payload(self) -> dict[str, Any]:
        counts: dict[str, int] = {status: self.count(status) for status in STATUSES}
        return {"results": [r.payload() for r in self.results], **counts}


Upsert = Callable[[AsyncConnection, str, T], Awaitable[tuple[Status, str]]]


@dataclass(frozen=True)
class _Spec(Generic[T]):
    check: Callable[[Any], T]
    upsert: Upsert[T]

    async def run(self, conn: AsyncConnection, tenant_id: str, raw: Any) -> tuple[Status, str]:
        return await self.upsert(conn, tenant_id, self.check(raw))


async def bulk_upsert(
    conn: AsyncConnection,
    tenant_id: str,
    kind: Kind,
    batch: Sequence[Any],
    first_index: int = 0,
) -> BulkReport:
    """Check and store each item on its own; a rejected item writes nothing.

    Items are applied in order, so a later item of the same batch sees an earlier one.
    """
    spec = _SPECS[kind]
    await _one_writer(conn, tenant_id, kind)
    report = BulkReport()
    for index, raw in enumerate(batch, start=first_index):
        try:
            status, ident = await spec.run(conn, tenant_id, raw)
        except InvalidItem as exc:
            report.results.append(ItemResult(index, "rejected", None, tuple(exc.errors)))
        else:
            report.results.append(ItemResult(index, status, ident))
    return report


async def _one_writer(conn: AsyncConnection, tenant_id: str, kind: Kind) -> None:
    """One directory writer per tenant and kind at a time on PostgreSQL.

    Two concurrent imports would otherwise both miss, then both insert, the same new
    agent (nothing unique to collide on) or collide on a phone and fail. SQLite needs
    nothing: `writing` already took its single write lock.
    """
    if conn.dialect.name == "postgresql":
        key = func.hashtext(f"directory:{tenant_id}:{kind}")
        await conn.execute(select(func.pg_advisory_xact_lock(key)))


# ---- agents --------------------------------------------------------------------------


def _pick_agent(rows: Sequence[Row[Any]], new: AgentIn) -> Row[Any] | None:
    """By email, else user_uuid, else extension.

    An extension is passed on between people, so it identifies an agent only when the
    agent's email and user_uuid do not say it is someone else.
    """
    for row in rows:
        if new.email is not None and row.email == new.email:
            return row
    for row in rows:
        if new.user_uuid is not None and row.user_uuid == new.user_uuid:
            return row
    for row in rows:
        if new.sip_user is not None and row.sip_user == new.sip_user:
            other_email = new.email is not None and row.email not in (None, new.email)
            other_uuid = new.user_uuid is not None and row.user_uuid not in (None, new.user_uuid)
            if not (other_email or other_uuid):
                return row
    return None


def _agent_values(new: AgentIn, old: Row[Any] | None) -> dict[str, Any]:
    """The row to store: what the item gives, and what is stored for what it leaves out."""

    def given(name: str, default: Any) -> Any:
        value = getattr(new, name)
        return value if value is not None else (getattr(old, name) if old else default)

    return {
        "email": given("email", None),
        "full_name": new.full_name,
        "full_name_unsigned": unsigned(new.full_name),
        "sip_user": given("sip_user", None),
        "user_uuid": given("user_uuid", None),
        "active": given("active", True),
    }


async def _upsert_agent(conn: AsyncConnection, tenant_id: str, new: AgentIn) -> tuple[Status, str]:
    same = [
        agents.c.email == new.email if new.email else None,
        agents.c.user_uuid == new.user_uuid if new.user_uuid else None,
        agents.c.sip_user == new.sip_user if new.sip_user else None,
    ]
    rows = (
        await conn.execute(
            select(agents)
            .where(agents.c.tenant_id == tenant_id, or_(*(c for c in same if c is not None)))
            .order_by(agents.c.id)
        )
    ).all()
    match = _pick_agent(rows, new)
    match_id = match.id if match else None
    if new.user_uuid and any(r.user_uuid == new.user_uuid and r.id != match_id for r in rows):
        raise InvalidItem([{"field": "user_uuid", "code": "user_uuid_taken"}])
    values = _agent_values(new, match)
    if match is not None and all(getattr(match, k) == v for k, v in values.items()):
        return "unchanged", match.id
    if new.sip_user and any(r.sip_user == new.sip_user and r.id != match_id for r in rows):
        # The extension was given to this agent: whoever had it no longer does.
        others = [agents.c.id != match_id] if match_id else []
        await conn.execute(
            agents.update()
            .where(agents.c.tenant_id == tenant_id, agents.c.sip_user == new.sip_user, *others)
            .values(sip_user=None)
        )
    if match is None:
        ident = new_id()
        await conn.execute(agents.insert().values(tenant_id=tenant_id, id=ident, **values))
        return "stored", ident
    await conn.execute(
        agents.update()
        .where(agents.c.tenant_id == tenant_id, agents.c.id == match.id)
        .values(**values)
    )
    return "updated", match.id


# ---- customers -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Held:
    """A customer the item may concern, with the numbers it holds."""

    id: str
    code: str | None
    full_name: str
    phone: str | None
    phones: frozenset[str]


async def _customers_concerned(
    conn: AsyncConnection, tenant_id: str, new: CustomerIn
) -> dict[str, _Held]:
    """The customer with the item's code and those holding any of its numbers."""
    holders = select(customer_phones.c.customer_id).where(
        customer_phones.c.tenant_id == tenant_id, among(customer_phones.c.phone, new.phones)
    )
    wanted: ColumnElement[bool] = customers.c.id.in_(holders)
    if new.code is not None:
        wanted = or_(wanted, customers.c.code == new.code)
    rows = await conn.execute(
        select(customers.c.id, customers.c.code, customers.c.full_name, customers.c.phone)
        .add_columns(customer_phones.c.phone.label("held"))
        .outerjoin(
            customer_phones,
            and_(
                customer_phones.c.tenant_id == customers.c.tenant_id,
                customer_phones.c.customer_id == customers.c.id,
            ),
        )
        .where(customers.c.tenant_id == tenant_id, wanted)
    )
    held: dict[str, set[str]] = {}
    first: dict[str, Row[Any]] = {}
    for row in rows:
        first.setdefault(row.id, row)
        held.setdefault(row.id, set()).update([row.held] if row.held else [])
    return {
        i: _Held(r.id, r.code, r.full_name, r.phone, frozenset(held[i])) for i, r in first.items()
    }


def _pick_customer(concerned: dict[str, _Held], new: CustomerIn) -> _Held | None:
    """By code when given, else by the first of its numbers someone holds.

    A holder with another CRM code is another customer: the number moves, it does not
    merge the two.
    """
    if new.code is not None:
        for held in concerned.values():
            if held.code == new.code:
                return held
    for phone in new.phones:
        for held in concerned.values():
            if phone in held.phones and (new.code is None or held.code is None):
                return held
    return None


def _customer_unchanged(old: _Held, new: CustomerIn) -> bool:
    return (
        old.full_name == new.full_name
        and (new.code is None or old.code == new.code)
        and old.phone == new.phones[0]
        and old.phones == frozenset(new.phones)
    )


async def _upsert_customer(
    conn: AsyncConnection, tenant_id: str, new: CustomerIn
) -> tuple[Status, str]:
    concerned = await _customers_concerned(conn, tenant_id, new)
    match = _pick_customer(concerned, new)
    if match is not None and _customer_unchanged(match, new):
        return "unchanged", match.id
    values: dict[str, Any] = {
        "full_name": new.full_name,
        "full_name_unsigned": unsigned(new.full_name),
        "phone": new.phones[0],
    }
    if new.code is not None:
        values["code"] = new.code
    ident = match.id if match else new_id()
    if match is None:
        await conn.execute(customers.insert().values(tenant_id=tenant_id, id=ident, **values))
    else:
        await conn.execute(
            customers.update()
            .where(customers.c.tenant_id == tenant_id, customers.c.id == ident)
            .values(**values)
        )
    losers = [h for h in concerned.values() if h.id != ident and h.phones & set(new.phones)]
    await _set_phones(conn, tenant_id, ident, new.phones, match.phones if match else frozenset())
    await _repoint_main_phones(conn, tenant_id, losers, new.phones)
    return ("updated" if match else "stored"), ident


async def _set_phones(
    conn: AsyncConnection,
    tenant_id: str,
    customer_id: str,
    phones: tuple[str, ...],
    had: frozenset[str],
) -> None:
    """The item's numbers become exactly this customer's, taken from whoever held them."""
    await conn.execute(
        customer_phones.delete().where(
            customer_phones.c.tenant_id == tenant_id,
            or_(
                and_(
                    among(customer_phones.c.phone, phones),
                    customer_phones.c.customer_id != customer_id,
                ),
                and_(
                    customer_phones.c.customer_id == customer_id,
                    customer_phones.c.phone.not_in(phones),
                ),
            ),
        )
    )
    missing = [p for p in phones if p not in had]
    if missing:
        await conn.execute(
            customer_phones.insert(),
            [{"tenant_id": tenant_id, "phone": p, "customer_id": customer_id} for p in missing],
        )


async def _repoint_main_phones(
    conn: AsyncConnection, tenant_id: str, losers: list[_Held], moved: tuple[str, ...]
) -> None:
    """A customer whose main number moved away gets another of its numbers, or none."""
    ids = [h.id for h in losers if h.phone in moved]
    if not ids:
        return
    remaining = (
        select(func.min(customer_phones.c.phone))
        .where(
            customer_phones.c.tenant_id == tenant_id,
            customer_phones.c.customer_id == customers.c.id,
        )
        .scalar_subquery()
    )
    await conn.execute(
        customers.update()
        .where(customers.c.tenant_id == tenant_id, among(customers.c.id, ids))
        .values(phone=remaining)
    )


# ---- hotlines, queues (keyed by their number) and prices (by carrier) -----------------


async def _upsert_keyed(
    conn: AsyncConnection, tenant_id: str, table: Table, key: tuple[str, str], given: dict[str, Any]
) -> tuple[Status, str]:
    """Insert or update a (tenant_id, key) row; absent (None) fields keep their value."""
    column, value = key
    values = {k: v for k, v in given.items() if v is not None}
    where = and_(table.c.tenant_id == tenant_id, table.c[column] == value)
    old = (await conn.execute(select(table).where(where))).first()
    if old is None:
        await conn.execute(table.insert().values(tenant_id=tenant_id, **{column: value}, **values))
        return "stored", value
    if all(getattr(old, k) == v for k, v in values.items()):
        return "unchanged", value
    await conn.execute(table.update().where(where).values(**values))
    return "updated", value


async def _upsert_hotline(
    conn: AsyncConnection, tenant_id: str, new: HotlineIn
) -> tuple[Status, str]:
    given = {"name": new.name, "provider": new.provider}
    return await _upsert_keyed(conn, tenant_id, hotlines, ("number", new.number), given)


async def _upsert_queue(conn: AsyncConnection, tenant_id: str, new: QueueIn) -> tuple[Status, str]:
    return await _upsert_keyed(conn, tenant_id, queues, ("number", new.number), {"name": new.name})


async def _upsert_price(conn: AsyncConnection, tenant_id: str, new: PriceIn) -> tuple[Status, str]:
    given = {
        "price_per_minute": new.price_per_minute,
        "first_block_sec": new.first_block_sec,
        "next_block_sec": new.next_block_sec,
    }
    return await _upsert_keyed(conn, tenant_id, price_rates, ("carrier", new.carrier), given)


_SPECS: dict[Kind, _Spec[Any]] = {
    "agents": _Spec[AgentIn](items.agent, _upsert_agent),
    "customers": _Spec[CustomerIn](items.customer, _upsert_customer),
    "hotlines": _Spec[HotlineIn](items.hotline, _upsert_hotline),
    "queues": _Spec[QueueIn](items.queue, _upsert_queue),
    "prices": _Spec[PriceIn](items.price, _upsert_price),
}
