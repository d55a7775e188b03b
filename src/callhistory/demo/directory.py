"""The demo tenant's directories: agents, customers, hotlines, queues and tags.

Built in memory first (rows for the tables plus what call generation needs to pick
from), so the calls can reference them without reading anything back.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from sqlalchemy import Table

from callhistory import schema
from callhistory.carriers import MOBILE_PREFIXES
from callhistory.db import new_id
from callhistory.demo import names
from callhistory.phones import national
from callhistory.text import fold, unsigned

N_AGENTS = 30
FIRST_EXTENSION = 101

# Market shares, roughly: Viettel leads, then MobiFone and VinaPhone, then the small ones.
CARRIER_WEIGHTS: dict[str, float] = {
    "viettel": 0.52,
    "mobifone": 0.21,
    "vinaphone": 0.19,
    "vietnamobile": 0.05,
    "gmobile": 0.015,
    "itelecom": 0.01,
    "reddi": 0.005,
}
_CARRIERS = tuple(CARRIER_WEIGHTS)
_CARRIER_CUM = tuple(accumulate(CARRIER_WEIGHTS.values()))


@dataclass(frozen=True)
class Agent:
    id: str
    contact_id: str
    full_name: str
    full_name_unsigned: str
    email: str
    sip_user: str
    user_uuid: str
    team: int  # index into Directory.queues


@dataclass(frozen=True)
class Customer:
    id: str
    contact_id: str
    full_name: str
    phone: str  # national form
    vip: bool


@dataclass(frozen=True)
class Hotline:
    number: str  # national form
    name: str
    inbound_weight: float
    outbound: bool  # landlines can be a caller id; 1800/1900 numbers cannot
    provider: str


@dataclass(frozen=True)
class Queue:
    number: str
    name: str
    weight: float


@dataclass
class Directory:
    slug: str
    agents: list[Agent]
    customers: list[Customer]
    customer_weights: list[float]  # cumulative: a few customers call often
    hotlines: list[Hotline]
    queues: list[Queue]
    tags: dict[str, str]  # name -> id
    phones: set[str] = field(default_factory=set)  # every number a customer has
    extra_phones: list[tuple[str, str]] = field(default_factory=list)  # (phone, customer id)


def slug(tenant_name: str) -> str:
    """The tenant's name as a DNS label and path segment: 'Công ty A' -> 'cong-ty-a'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(tenant_name)).strip("-") or "demo"


def mobile_number(rng: random.Random) -> str:
    carrier = rng.choices(_CARRIERS, cum_weights=_CARRIER_CUM)[0]
    return rng.choice(MOBILE_PREFIXES[carrier]) + f"{rng.randrange(10_000_000):07d}"


def landline_number(rng: random.Random, area: str | None = None) -> str:
    """An 11-digit landline: 028 (Hồ Chí Minh) or 024 (Hà Nội), subscriber 3…/6…/7…."""
    area = area or rng.choice(("028", "028", "024"))
    return area + rng.choice("367") + f"{rng.randrange(10_000_000):07d}"


def unused_number(rng: random.Random, taken: set[str], landline: bool = False) -> str:
    while True:
        number = landline_number(rng) if landline else mobile_number(rng)
        if number not in taken:
            taken.add(number)
            return number


def _email(full_name: str, domain: str, taken: set[str]) -> str:
    words = unsigned(full_name).lower().split()
    local = f"{words[-1]}.{words[0]}"
    candidate, n = local, 1
    while candidate in taken:
        n += 1
        candidate = f"{local}{n}"
    taken.add(candidate)
    return f"{candidate}@{domain}"


def _agents(rng: random.Random, domain: str, n_queues: int) -> list[Agent]:
    # Team sizes follow the queues' shares of the calls, at least two agents each.
    shares = [w for _, w in names.QUEUES[:n_queues]]
    sizes = [max(2, round(N_AGENTS * s / sum(shares))) for s in shares]
    sizes[0] += N_AGENTS - sum(sizes)
    teams = [team for team, size in enumerate(sizes) for _ in range(size)]
    emails: set[str] = set()
    agents = []
    for i, team in enumerate(teams):
        full_name = names.person_name(rng)
        agents.append(
            Agent(
                id=new_id(),
                contact_id=new_id(),
                full_name=full_name,
                full_name_unsigned=unsigned(full_name),
                email=_email(full_name, domain, emails),
                sip_user=str(FIRST_EXTENSION + i),
                user_uuid=f"NV{i + 1:04d}",
                team=team,
            )
        )
    return agents


def _hotlines(rng: random.Random) -> list[Hotline]:
    # The big three carry most business lines; the first one is the main number.
    def provider() -> str:
        return rng.choice(("viettel", "viettel", "vinaphone", "mobifone"))

    lines = [
        Hotline(
            f"1900{rng.randrange(10_000):04d}",
            "Tổng đài chăm sóc khách hàng",
            0.55,
            False,
            provider(),
        ),
        Hotline(landline_number(rng, "028"), "Văn phòng Hồ Chí Minh", 0.2, True, provider()),
    ]
    if rng.random() < 0.6:
        lines.append(
            Hotline(landline_number(rng, "024"), "Văn phòng Hà Nội", 0.1, True, provider())
        )
    if rng.random() < 0.5:
        lines.append(
            Hotline(f"1800{rng.randrange(10_000):04d}", "Tổng đài miễn phí", 0.2, False, provider())
        )
    return lines


def build(rng: random.Random, tenant_name: str, n_calls: int) -> Directory:
    tenant_slug = slug(tenant_name)
    queues = [
        Queue(str(8001 + i), name, weight)
        for i, (name, weight) in enumerate(names.QUEUES[: rng.randint(2, 4)])
    ]
    agents = _agents(rng, f"{tenant_slug}.example.vn", len(queues))
    hotlines = _hotlines(rng)
    phones = {h.number for h in hotlines}
    customers: list[Customer] = []
    extra: list[tuple[str, str]] = []
    for _ in range(min(5000, max(50, n_calls // 8))):
        business = rng.random() < 0.05
        customer = Customer(
            id=new_id(),
            contact_id=new_id(),
            full_name=names.company_name(rng) if business else names.person_name(rng),
            phone=unused_number(rng, phones, landline=business),
            vip=rng.random() < 0.05,
        )
        customers.append(customer)
        if rng.random() < 0.1:  # a second number, e.g. a work phone
            extra.append((unused_number(rng, phones), customer.id))
    # Skewed call frequency: most customers call now and then, a few every few days.
    weights = list(accumulate(min(6.0, rng.paretovariate(2.5)) for _ in customers))
    tag_ids = {name: new_id() for name in names.ALL_TAGS}
    return Directory(
        tenant_slug, agents, customers, weights, hotlines, queues, tag_ids, phones, extra
    )


def rows(
    directory: Directory, tenant_id: str, created_at: int
) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The directory as rows per table, parents first, ready for executemany."""
    d = directory
    return [
        (
            schema.agents,
            [
                {
                    "tenant_id": tenant_id,
                    "id": a.id,
                    "email": a.email,
                    "full_name": a.full_name,
                    "full_name_unsigned": a.full_name_unsigned,
                    "sip_user": a.sip_user,
                    "user_uuid": a.user_uuid,
                    "active": True,
                }
                for a in d.agents
            ],
        ),
        (
            schema.customers,
            [
                {
                    "tenant_id": tenant_id,
                    "id": c.id,
                    "full_name": c.full_name,
                    "full_name_unsigned": unsigned(c.full_name),
                    "phone": c.phone,
                }
                for c in d.customers
            ],
        ),
        (
            schema.customer_phones,
            [
                {"tenant_id": tenant_id, "phone": national(phone), "customer_id": customer_id}
                for phone, customer_id in [(c.phone, c.id) for c in d.customers] + d.extra_phones
            ],
        ),
        (
            schema.hotlines,
            [
                {
                    "tenant_id": tenant_id,
                    "number": national(h.number),
                    "name": h.name,
                    "provider": h.provider,
                }
                for h in d.hotlines
            ],
        ),
        (
            schema.queues,
            [{"tenant_id": tenant_id, "number": q.number, "name": q.name} for q in d.queues],
        ),
        (
            schema.tags,
            [
                {
                    "tenant_id": tenant_id,
                    "id": tag_id,
                    "name": name,
                    "name_folded": fold(name),
                    "created_at": created_at,
                }
                for name, tag_id in d.tags.items()
            ],
        ),
    ]
