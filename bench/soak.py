"""Soak: the real server under a steady mixed load for minutes; latency, errors, memory,
and nothing lost.

    python -m bench.soak --duration 600 --rate 40
    python -m bench.soak --duration 600 --find-peak [--load-fraction 0.7]
    python -m bench.soak --duration 12 --rate 8 --seed-calls 1000     # a smoke

Makes its own PostgreSQL database (callhistory_bench_<hex> on --admin-url, dropped at the
end), seeds one tenant with the demo generator (a directory of 30 agents, customers,
hotlines, queues, tags, and --seed-calls calls over the last 60 days), registers a
webhook to a receiver inside this process, and runs `callhistory serve --workers 2`
(a subprocess) with its in-process webhook/export worker ON (serve's default), so every
stored or changed call also becomes a signed delivery. Rate limits are off.

The mix, by weight (`KINDS`): 70% reads (list with assorted filters, keywords and deep
pages; detail, a few of an unknown id that must answer 404; search by agent; report),
10% changes (tags and a note, POST change), 20% ingest (FreeSWITCH legs posted one by
one as mod_json_cdr does, and small POST /api/cdr batches of new calls). Details and
changes target seeded calls and the calls this run has had acknowledged.

- `--find-peak` first: `--peak-clients` closed-loop clients for `--peak-seconds`; the
  rate becomes `--load-fraction` of that throughput.
- The soak: open loop (Poisson arrivals at `--rate` per second), latency timed from
  when each request was due, so queueing in the client and the server counts.
- RSS of the server's processes (master, workers) from /proc every `--sample-seconds`:
  the first window (a minute, or a third of short runs) against the last; "flat" when
  the total grew by less than `--flat-percent`.
- At the end: every acknowledged FreeSWITCH leg and call and every acknowledged batch
  item is in the database exactly once, and no call exists that was neither seeded nor
  sent (a leg stored as a call of its own, say).

Exit 1 on any error (a status other than the expected one, a timeout, a connection
error, a rejected item, a worker restarted) or anything lost; 2 when PostgreSQL cannot
be reached. `--json FILE` writes every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from bench import serving
from bench.ingest import (
    ADMIN_URL,
    PostgresUnavailable,
    form_body,
    percentile,
    scratch_database,
)
from bench.legs import CallMaker
from callhistory.db import create_engine, migrate, now_ms
from callhistory.demo import generate
from callhistory.demo.directory import N_AGENTS
from callhistory.ingest.freeswitch import parse_document, parse_leg
from callhistory.schema import agents, calls, customers, hotlines, queues

ROOT = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000
TENANT = "soak"
SERVER_START_SECONDS = 120.0
WEBHOOK_DRAIN_SECONDS = 20.0
TAGS = ("VIP", "gọi lại", "khiếu nại", "hài lòng", "cần hỗ trợ", "báo giá")
NOTES = ("Khách hẹn gọi lại", "Đã xử lý", "Chuyển bộ phận kỹ thuật", "Khách chưa hài lòng")
KEYWORD_SHARE = 0.1  # of list requests
MAX_EXAMPLES = 3  # kept per kind of error, as evidence
KEEPALIVE_SECONDS = 2.0  # client side; uvicorn closes idle connections after 5 s


@dataclass(frozen=True)
class Kind:
    name: str
    group: str  # read, change, ingest
    weight: float


KINDS = (
    Kind("list", "read", 30),
    Kind("detail", "read", 18),
    Kind("detail unknown", "read", 2),  # an id nobody stored: 404 expected
    Kind("search", "read", 10),
    Kind("report", "read", 10),
    Kind("change", "change", 10),
    Kind("freeswitch leg", "ingest", 15),
    Kind("cdr batch", "ingest", 5),
)
KIND_NAMES = tuple(k.name for k in KINDS)


# ---- the tenant -----------------------------------------------------------------------


@dataclass
class Picks:
    """What requests are made of: the seeded tenant's directory and calls."""

    tenant_id: str
    api_key: str
    agent_emails: list[str]
    user_uuids: list[str]
    extensions: list[str]
    hotlines: list[str]
    queues: list[str]
    names: list[str]  # customers' full names, for keywords
    phones: list[str]
    seeded: set[str]  # every seeded transaction id
    recent: list[str]  # seeded ids of the last 30 days


async def seed_tenant(url: str, calls_wanted: int, seed: int) -> Picks:
    engine = create_engine(url)
    try:
        await migrate(engine)
        result = await generate(engine, TENANT, calls_wanted, seed, progress=False)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))  # as autovacuum would have, on a live one
        async with engine.connect() as conn:
            tenant_id = await conn.scalar(
                text("SELECT id FROM tenants WHERE name = :name"), {"name": TENANT}
            )
            people = (
                await conn.execute(
                    select(agents.c.email, agents.c.user_uuid, agents.c.sip_user).where(
                        agents.c.tenant_id == tenant_id
                    )
                )
            ).all()
            numbers = (
                await conn.scalars(
                    select(hotlines.c.number).where(hotlines.c.tenant_id == tenant_id)
                )
            ).all()
            groups = (
                await conn.scalars(select(queues.c.number).where(queues.c.tenant_id == tenant_id))
            ).all()
            known = (
                await conn.execute(
                    select(customers.c.full_name, customers.c.phone)
                    .where(customers.c.tenant_id == tenant_id)
                    .order_by(customers.c.id)
                    .limit(200)
                )
            ).all()
            rows = (
                await conn.execute(
                    select(calls.c.transaction_id, calls.c.created_date).where(
                        calls.c.tenant_id == tenant_id
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    since = now_ms() - 30 * DAY_MS
    return Picks(
        tenant_id=str(tenant_id),
        api_key=result.api_key,
        agent_emails=[p.email for p in people if p.email],
        user_uuids=[p.user_uuid for p in people if p.user_uuid],
        extensions=[p.sip_user for p in people if p.sip_user],
        hotlines=list(numbers),
        queues=list(groups),
        names=[k.full_name for k in known],
        phones=[k.phone for k in known if k.phone],
        seeded={r.transaction_id for r in rows},
        recent=[r.transaction_id for r in rows if r.created_date >= since],
    )


# ---- what was sent and acknowledged ---------------------------------------------------


@dataclass
class Ledger:
    sent_calls: set[str] = field(default_factory=set)  # every call id a leg or item named
    acked_legs: dict[str, str] = field(default_factory=dict)  # leg uuid -> call id
    acked_leg_calls: set[str] = field(default_factory=set)
    acked_items: set[str] = field(default_factory=set)
    sent_legs: int = 0
    sent_items: int = 0


@dataclass(frozen=True)
class Planned:
    """One request, ready to send."""

    kind: str
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any] | None = None
    content: bytes | None = None
    expect: int = 200
    # reads the 2xx answer: an error label, or None (and records what was acknowledged)
    check: Callable[[httpx.Response], str | None] | None = None


class Workload:
    """Draws request kinds by weight and makes each request."""

    def __init__(self, picks: Picks, token: str, seed: int, ledger: Ledger) -> None:
        self.picks = picks
        self.rng = random.Random(seed)
        self.ledger = ledger
        self.targets: list[str] = list(picks.recent) or list(picks.seeded)
        self.maker = CallMaker(seed=seed, agents=N_AGENTS, customers=500)
        self.legs: deque[tuple[str, str, bytes]] = deque()  # call id, leg uuid, body
        self.read_headers = {"authorization": f"Bearer {token}"}
        self.key_headers = {"x-api-key": picks.api_key}
        basic = base64.b64encode(f"freeswitch:{picks.api_key}".encode()).decode()
        self.leg_headers = {
            "content-type": "application/x-www-form-urlencoded",
            "authorization": f"Basic {basic}",
            "user-agent": "freeswitch-json/1.0",
        }
        self._weights = [k.weight for k in KINDS]

    def pick(self) -> str:
        return self.rng.choices(KIND_NAMES, self._weights)[0]

    def make(self, kind: str) -> Planned:
        return getattr(self, "_" + kind.replace(" ", "_"))()  # type: ignore[no-any-return]

    def _window(self) -> dict[str, Any]:
        days = self.rng.choice((1, 7, 7, 30, 30, 30))
        end = now_ms()
        return {"from_date": end - days * DAY_MS, "to_date": end}

    def _list(self) -> Planned:
        r, p = self.rng, self.picks
        params: dict[str, Any] = {**self._window(), "size": r.choice((10, 20, 50))}
        params["page"] = r.choice((1, 1, 1, 1, 2, 3, 10))
        choice = r.random()
        if choice < KEYWORD_SHARE:
            if r.random() < 0.5 and p.names:
                params["keyword"] = " ".join(r.choice(p.names).split()[-2:])
            elif p.phones:
                phone = r.choice(p.phones)
                params["keyword"] = phone[2:7]
        else:
            filters: list[tuple[str, Sequence[str]]] = [
                ("direction", ("inbound", "outbound", "local")),
                ("disposition", ("answered", "cancelled")),
                ("agents", p.agent_emails),
                ("sip_numbers", p.hotlines),
                ("queue_destination", p.queues),
                ("is_auto_call", ("true", "false")),
            ]
            for name, values in r.sample(filters, r.choice((0, 0, 1, 1, 2))):
                if values:
                    params[name] = r.choice(list(values))
        return Planned("list", "GET", "/api/call_transaction/list", self.read_headers, params)

    def _detail(self) -> Planned:
        tid = self.rng.choice(self.targets)
        return Planned("detail", "GET", f"/api/call_transaction/detail/{tid}", self.read_headers)

    def _detail_unknown(self) -> Planned:
        return Planned(
            "detail unknown",
            "GET",
            f"/api/call_transaction/detail/nobody-{uuid.uuid4()}",
            self.read_headers,
            expect=404,
        )

    def _search(self) -> Planned:
        r, p = self.rng, self.picks
        body: dict[str, Any] = {
            **self._window(),
            "user_uuids": [r.choice(p.user_uuids or p.extensions)],
        }
        if r.random() < 0.3:
            body["direction"] = [r.choice(("inbound", "outbound"))]
        if r.random() < 0.2:
            body["disposition"] = ["answered"]
        return Planned(
            "search",
            "POST",
            "/api/call_transaction/search",
            {**self.key_headers, "content-type": "application/json"},
            {"page": 1, "size": r.choice((10, 20, 50))},
            orjson.dumps(body),
        )

    def _report(self) -> Planned:
        params = self._window()
        if self.rng.random() < 0.3:
            params["direction"] = self.rng.choice(("inbound", "outbound"))
        return Planned("report", "GET", "/api/call_transaction/report", self.read_headers, params)

    def _change(self) -> Planned:
        r = self.rng
        body: dict[str, Any] = {"tag": r.sample(TAGS, r.randint(0, 3))}
        if r.random() < 0.7:
            body["note"] = f"{r.choice(NOTES)} ({r.randrange(1000)})"
        tid = r.choice(self.targets)
        return Planned(
            "change",
            "POST",
            f"/api/call_transaction/change/{tid}",
            {**self.read_headers, "content-type": "application/json"},
            content=orjson.dumps(body),
        )

    def _freeswitch_leg(self) -> Planned:
        if not self.legs:
            start = int(time.time()) - self.rng.randint(3600, 7 * 86_400)
            call = self.maker.call(start)
            for raw in call.legs:
                leg = parse_leg(parse_document(raw))
                self.legs.append((call.call_id, leg.uuid, form_body(raw)))
        call_id, leg_uuid, body = self.legs.popleft()
        self.ledger.sent_calls.add(call_id)
        self.ledger.sent_legs += 1

        def check(answer: httpx.Response) -> str | None:
            payload = answer.json().get("payload") or {}
            if payload.get("transaction_id") != call_id or payload.get("leg_uuid") != leg_uuid:
                return "answer names another call or leg"
            self.ledger.acked_legs[leg_uuid] = call_id
            if call_id not in self.ledger.acked_leg_calls:
                self.ledger.acked_leg_calls.add(call_id)
                self.targets.append(call_id)
            return None

        return Planned(
            "freeswitch leg",
            "POST",
            "/api/cdr/freeswitch",
            self.leg_headers,
            content=body,
            check=check,
        )

    def _cdr_batch(self) -> Planned:
        r = self.rng
        items = [self._item() for _ in range(r.randint(2, 20))]
        ids = [i["transaction_id"] for i in items]
        self.ledger.sent_calls.update(ids)
        self.ledger.sent_items += len(items)

        def check(answer: httpx.Response) -> str | None:
            results = (answer.json().get("payload") or {}).get("results") or []
            if len(results) != len(ids):
                return "answer has another number of results"
            refused = ""
            for tid, result in zip(ids, results, strict=True):
                if result.get("status") in ("stored", "updated", "unchanged"):
                    self.ledger.acked_items.add(tid)
                    self.targets.append(tid)
                else:
                    refused = f"item {result.get('status')}: {result.get('errors')}"
            return refused or None

        return Planned(
            "cdr batch",
            "POST",
            "/api/cdr",
            {**self.key_headers, "content-type": "application/json"},
            content=orjson.dumps(items),
            check=check,
        )

    def _item(self) -> dict[str, Any]:
        r, p = self.rng, self.picks
        answered = r.random() < 0.7
        bill = r.randint(5, 600) if answered else 0
        outbound = r.random() < 0.5
        agent = r.choice(p.extensions) if p.extensions else "101"
        customer = r.choice(p.phones) if p.phones and r.random() < 0.6 else None
        customer = customer or f"09{r.randrange(10**8):08d}"
        hotline = r.choice(p.hotlines) if p.hotlines else "19001234"
        item: dict[str, Any] = {
            "transaction_id": f"soak-{uuid.uuid4()}",
            "created_date": now_ms() - r.randint(60_000, 7 * DAY_MS),
            "direction": "outbound" if outbound else "inbound",
            "source_number": agent if outbound else customer,
            "destination_number": customer if outbound else hotline,
            "disposition": "answered" if answered else "cancelled",
            "bill_sec": bill,
            "duration": bill + r.randint(3, 30),
            "sip_user": agent,
            "hotline": hotline,
            "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
            "pbx_type": "soak",
        }
        if answered:
            item["recording_file"] = f"https://rec.example.vn/{uuid.uuid4()}.mp3"
        if r.random() < 0.2:
            item["tag"] = r.sample(TAGS, 1)
        return item


# ---- running requests -----------------------------------------------------------------


@dataclass
class Phase:
    name: str
    began: float = field(default_factory=time.perf_counter)
    span: float = 0.0  # seconds requests were due in
    seconds: float = 0.0  # until the last answer
    # kind, due (s after the phase began), latency ms (from due), error ("" when it went well)
    samples: list[tuple[str, float, float, str]] = field(default_factory=list)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # evidence
    late_ms: list[float] = field(default_factory=list)  # due -> queued: the generator's lag
    wait_ms: list[float] = field(default_factory=list)  # queued -> sent: for a free connection
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (s, queued + in flight)
    scheduled: int = 0
    not_sent: int = 0  # the backlog over --max-in-flight: counted as errors

    def errors(self) -> Counter[tuple[str, str]]:
        found = Counter((kind, error) for kind, _, _, error in self.samples if error)
        if self.not_sent:
            found[("all", "not sent: backlog over --max-in-flight")] = self.not_sent
        return found

    def error_count(self) -> int:
        return sum(1 for s in self.samples if s[3]) + self.not_sent

    def record(self, kind: str, due: float, error: str, detail: str = "") -> None:
        latency = (time.perf_counter() - due) * 1000
        if error:
            examples = self.examples.setdefault((kind, error), [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(
                    f"{detail} (after {latency:,.0f} ms, due at {due - self.began:.1f} s)"
                )
        self.samples.append((kind, due - self.began, latency, error))


async def send(
    client: httpx.AsyncClient, phase: Phase, planned: Planned, due: float, deadline: float
) -> None:
    """One request, its latency counted from `due`; given up unsent past `deadline`."""
    where = f"{planned.method} {planned.path}"
    if time.perf_counter() > deadline:
        phase.record(planned.kind, due, "timeout (queued past --timeout, not sent)", where)
        return
    error = detail = ""
    try:
        answer = await client.request(
            planned.method,
            planned.path,
            params=planned.params,
            content=planned.content,
            headers=planned.headers,
        )
    except httpx.TimeoutException as exc:
        error, detail = f"timeout ({type(exc).__name__})", f"{where}: {exc!r}"
    except httpx.HTTPError as exc:
        error, detail = f"connection error ({type(exc).__name__})", f"{where}: {exc!r}"
    else:
        if answer.status_code != planned.expect:
            error = f"HTTP {answer.status_code}"
            if answer.status_code == 404 and planned.expect == 200:
                error += " (expected 200)"
            detail = f"{where}: {answer.text[:300]}"
        elif planned.check is not None:
            try:
                error = planned.check(answer) or ""
            except (ValueError, AttributeError) as exc:
                error = f"unreadable answer ({type(exc).__name__})"
            detail = f"{where}: {error}: {answer.text[:200]}"
    phase.record(planned.kind, due, error, detail)


async def open_loop(
    client: httpx.AsyncClient,
    work: Workload,
    rate: float,
    seconds: float,
    connections: int,
    give_up_after: float,
    max_in_flight: int,
    name: str = "soak",
) -> Phase:
    """Requests due at Poisson arrivals of `rate` per second, whatever is still
    unanswered. Due requests wait in a FIFO for one of `connections` senders (a deque,
    not httpx's pool, whose cost grows with its waiters), at most `max_in_flight` of them
    queued or in flight; one that waited longer than `give_up_after` is given up unsent."""
    phase = Phase(name, span=seconds)
    arrivals = random.Random(work.rng.random())
    begin = phase.began
    queue: asyncio.Queue[tuple[float, float, Planned] | None] = asyncio.Queue()
    busy = 0

    async def sender() -> None:
        nonlocal busy
        while (item := await queue.get()) is not None:
            due, queued, planned = item
            busy += 1
            phase.wait_ms.append((time.perf_counter() - queued) * 1000)
            try:
                await send(client, phase, planned, due, due + give_up_after)
            finally:
                busy -= 1

    senders = [asyncio.create_task(sender()) for _ in range(connections)]
    try:
        due = begin
        while True:
            due += arrivals.expovariate(rate)
            if due >= begin + seconds:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            now = time.perf_counter()
            phase.scheduled += 1
            phase.late_ms.append((now - due) * 1000)
            backlog = queue.qsize() + busy
            phase.backlog.append((now - begin, backlog))
            if backlog >= max_in_flight:
                phase.not_sent += 1
                continue
            queue.put_nowait((due, now, work.make(work.pick())))
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
    # answered over the scheduled span, or longer when the last answers come late
    phase.seconds = max(seconds, time.perf_counter() - begin)
    return phase


async def closed_loop(
    client: httpx.AsyncClient, work: Workload, clients: int, seconds: float, name: str
) -> Phase:
    """`clients` loops, each sending its next request when the last one is answered."""
    phase = Phase(name, span=seconds)
    begin = phase.began
    stop = begin + seconds

    async def loop() -> None:
        while (now := time.perf_counter()) < stop:
            phase.scheduled += 1
            await send(client, phase, work.make(work.pick()), now, float("inf"))

    await asyncio.gather(*(loop() for _ in range(clients)))
    phase.seconds = time.perf_counter() - begin
    return phase


# ---- the server and its memory --------------------------------------------------------


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found.setdefault(ppid, []).append(int(entry.name))
    return found


def process_tree(root: int) -> list[int]:
    children = _children()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def role(pid: int, root: int) -> str:
    if pid == root:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in command:
        return "resource tracker"
    if "multiprocessing" in command or "spawn_main" in command:
        return "worker"
    return "other"


@dataclass
class MemorySample:
    at: float  # seconds since the soak began (negative: before it)
    phase: str
    rss: dict[int, float]  # pid -> MB
    load: float  # load average, 1 min


@dataclass
class Memory:
    root: int
    roles: dict[int, str] = field(default_factory=dict)
    samples: list[MemorySample] = field(default_factory=list)
    # processes that appeared after the first sample (the server was up): replacements
    appeared: list[tuple[int, str, float]] = field(default_factory=list)  # pid, phase, at

    def sample(self, at: float, phase: str) -> None:
        rss: dict[int, float] = {}
        for pid in process_tree(self.root):
            mb = rss_mb(pid)
            if mb is None:
                continue
            if pid not in self.roles:
                self.roles[pid] = role(pid, self.root)
                if self.samples:
                    self.appeared.append((pid, phase, at))
            rss[pid] = mb
        self.samples.append(MemorySample(at, phase, rss, os.getloadavg()[0]))

    def replacements(self) -> str:
        """What started after the server was up, in a line; empty when nothing did."""
        if not self.appeared:
            return ""
        peaks = [max(s.rss.get(pid, 0.0) for s in self.samples) for pid, _, _ in self.appeared]
        serving = [
            max(s.rss.get(pid, 0.0) for s in self.samples)
            for pid, r in self.roles.items()
            if r == "worker" and pid in self.samples[-1].rss and pid in self.samples[0].rss
        ]
        first = self.appeared[0]
        line = (
            f"{len(self.appeared)} server process(es) started after the server was up "
            f"(worker replacements), the first at {first[2]:.0f} s of the {first[1]}"
        )
        if len(self.appeared) > 1:
            span = self.appeared[-1][2] - first[2] if first[1] == self.appeared[-1][1] else None
            if span:
                line += f", then one every ~{span / (len(self.appeared) - 1):.1f} s"
        line += f"; their peak RSS {min(peaks):.0f}–{max(peaks):.0f} MB"
        if serving:
            line += f" (a worker that served throughout: {max(serving):.0f} MB)"
        return line


@dataclass
class MemoryRow:
    process: str
    first_mb: float
    last_mb: float
    peak_mb: float
    slope: float  # MB per minute over the second half of the soak (least squares)

    @property
    def growth_mb(self) -> float:
        return self.last_mb - self.first_mb

    @property
    def growth_pct(self) -> float:
        return 100 * self.growth_mb / self.first_mb if self.first_mb else float("nan")


def memory_rows(memory: Memory, soak_seconds: float) -> tuple[list[MemoryRow], float]:
    """Mean RSS over the soak's first and last windows (a minute, or a third of a short
    run), per process and in total; and the window's length."""
    window = min(60.0, soak_seconds / 3)
    soak = [s for s in memory.samples if s.phase == "soak"]
    first = [s for s in soak if s.at < window] or soak[:1]
    last = [s for s in soak if s.at >= soak_seconds - window] or soak[-1:]
    seen = {pid for s in soak for pid in s.rss}
    # a row each for the processes there from the first sample to the last; the others
    # (replaced workers) share one
    lasting = sorted(
        (p for p in seen if soak and p in soak[0].rss and p in soak[-1].rss),
        key=lambda p: (memory.roles[p], p),
    )
    groups: list[tuple[str, set[int] | None]] = [(f"{memory.roles[p]} {p}", {p}) for p in lasting]
    if seen - set(lasting):
        groups.append((f"short-lived ({len(seen) - len(lasting)})", seen - set(lasting)))
    groups.append(("total", None))

    def rss(sample: MemorySample, pids: set[int] | None) -> float:
        return sum(mb for pid, mb in sample.rss.items() if pids is None or pid in pids)

    def mean(samples: list[MemorySample], pids: set[int] | None) -> float:
        values = [rss(s, pids) for s in samples]
        return statistics.fmean(values) if values else float("nan")

    def slope(pids: set[int] | None) -> float:
        half = [s for s in soak if s.at >= soak_seconds / 2]
        if len(half) < 3:
            return float("nan")
        return statistics.linear_regression(
            [s.at / 60 for s in half], [rss(s, pids) for s in half]
        ).slope

    rows = []
    for label, pids in groups:
        peak = max((rss(s, pids) for s in soak), default=float("nan"))
        rows.append(MemoryRow(label, mean(first, pids), mean(last, pids), peak, slope(pids)))
    return rows, window


def _started(log: Path) -> int:
    """Workers that have logged the end of their start-up."""
    return log.read_bytes().count(b"Application startup complete")


def _tail(path: Path, size: int = 2000) -> str:
    return path.read_bytes().decode(errors="replace")[-size:]


@contextlib.asynccontextmanager
async def server(url: str, workers: int, log_path: Path) -> AsyncIterator[tuple[str, int]]:
    """`callhistory serve` on a free port, until it and its workers answer; its base URL
    and pid."""
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": url,
        "CALLHISTORY_ENVIRONMENT": "development",  # plain-HTTP webhook to loopback
        "CALLHISTORY_RATE_LIMIT_API": "0",
        "CALLHISTORY_RATE_LIMIT_INGEST": "0",
        "CALLHISTORY_REDIS_URL": "",
        "CALLHISTORY_WORKER": "on",
        # info: uvicorn says so when it replaces a worker ("Child process [..] died")
        "CALLHISTORY_LOG_LEVEL": "info",
        "CALLHISTORY_EXPORT_DIR": str(log_path.parent / "exports"),
    }
    with log_path.open("wb") as log:
        process, port = await serving.start_serve(workers, env, log, ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(
                            f"the server stopped (log: {log_path}): {_tail(log_path)}"
                        )
                    with contextlib.suppress(httpx.TransportError):
                        answer = await client.get("/readyz")
                        if answer.status_code == 200 and _started(log_path) >= workers:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the server did not start in time (log: {log_path}): {_tail(log_path)}"
                        )
                    await asyncio.sleep(0.3)
            yield base, process.pid
        finally:
            await serving.stop(process, 40)


# ---- the webhook receiver -------------------------------------------------------------


@dataclass
class Receiver:
    """A plain HTTP/1.1 endpoint that answers 204 to every POST and counts deliveries."""

    deliveries: set[str] = field(default_factory=set)
    events: Counter[str] = field(default_factory=Counter)
    posts: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.posts += 1
                delivery = headers.get("x-callhistory-delivery", "")
                if delivery not in self.deliveries:
                    self.deliveries.add(delivery)
                    self.events[headers.get("x-callhistory-event", "?")] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


# ---- checking nothing was lost --------------------------------------------------------


@dataclass
class Integrity:
    legs_sent: int = 0
    legs_acked: int = 0
    legs_missing: int = 0  # acknowledged, not stored (or stored under another call)
    legs_repeated: int = 0  # a leg uuid stored more than once
    leg_calls_acked: int = 0
    leg_calls_missing: int = 0
    items_sent: int = 0
    items_acked: int = 0
    items_missing: int = 0
    extra_calls: int = 0  # rows neither seeded nor sent
    examples: list[str] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return (
            self.legs_missing
            + self.legs_repeated
            + self.leg_calls_missing
            + self.items_missing
            + self.extra_calls
        )


async def verify(url: str, picks: Picks, ledger: Ledger) -> Integrity:
    found = Integrity(
        legs_sent=ledger.sent_legs,
        legs_acked=len(ledger.acked_legs),
        leg_calls_acked=len(ledger.acked_leg_calls),
        items_sent=ledger.sent_items,
        items_acked=len(ledger.acked_items),
    )
    conn = await asyncpg.connect(url)
    try:
        stored = {
            r["transaction_id"]
            for r in await conn.fetch(
                "SELECT transaction_id FROM calls WHERE tenant_id = $1", picks.tenant_id
            )
        }
        legs: dict[str, list[str]] = {}
        for r in await conn.fetch(
            "SELECT leg_uuid, call_id FROM cdr_legs WHERE tenant_id = $1", picks.tenant_id
        ):
            legs.setdefault(r["leg_uuid"], []).append(r["call_id"])
        statuses = await conn.fetch(
            "SELECT status, count(*) AS n FROM webhook_deliveries WHERE tenant_id = $1"
            " GROUP BY status",
            picks.tenant_id,
        )
        found.webhook["in the database"] = {r["status"]: r["n"] for r in statuses}
    finally:
        await conn.close()
    # calls: the primary key (tenant_id, transaction_id) makes a row unique by its id, so
    # "exactly once" is: present, and no row under any id this run did not make
    for leg_uuid, call_id in ledger.acked_legs.items():
        where = legs.get(leg_uuid, [])
        if where != [call_id]:
            if not where or call_id not in where:
                found.legs_missing += 1
            else:
                found.legs_repeated += 1
            found.examples.append(f"leg {leg_uuid} of call {call_id}: stored under {where}")
    for call_id in ledger.acked_leg_calls - stored:
        found.leg_calls_missing += 1
        found.examples.append(f"FreeSWITCH call {call_id} acknowledged, not stored")
    for tid in ledger.acked_items - stored:
        found.items_missing += 1
        found.examples.append(f"batch call {tid} acknowledged, not stored")
    extra = stored - picks.seeded - ledger.sent_calls
    found.extra_calls = len(extra)
    found.examples += [f"call {tid} stored, never sent" for tid in sorted(extra)[:5]]
    del found.examples[20:]
    return found


async def register_webhook(base: str, picks: Picks, port: int) -> None:
    body = {
        "webhook": {
            "type": "call",
            "url": f"http://127.0.0.1:{port}/hooks/calls",
            "events": ["hangup", "updated"],
        }
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post(
            "/api/webhooks/register", json=body, headers={"x-api-key": picks.api_key}
        )
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"webhook registration: {answer.status_code} {answer.text[:300]}")


async def webhook_backlog(url: str, tenant_id: str) -> tuple[int, int]:
    """Deliveries made so far, and of them those still pending."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS made, count(*) FILTER (WHERE status = 'pending') AS pending"
            " FROM webhook_deliveries WHERE tenant_id = $1",
            tenant_id,
        )
        return int(row["made"]), int(row["pending"])
    finally:
        await conn.close()


async def drain_webhooks(url: str, tenant_id: str, seconds: float) -> None:
    """Until nothing is pending and no delivery was made for two seconds (the worker
    polls every second), or `seconds`."""
    deadline = time.monotonic() + seconds
    last = (-1, -1)
    while time.monotonic() < deadline:
        now = await webhook_backlog(url, tenant_id)
        if now[1] == 0 and now == last:
            return
        last = now
        await asyncio.sleep(2)


# ---- the run --------------------------------------------------------------------------


@dataclass
class Options:
    duration: float = 600.0
    rate: float = 20.0
    find_peak: bool = False
    peak_seconds: float = 60.0  # long enough to include the webhook deliveries the load causes
    peak_clients: int = 16
    load_fraction: float = 0.7
    seed_calls: int = 20_000
    workers: int = 2
    connections: int = 64
    timeout: float = 30.0
    max_in_flight: int = 2_000
    sample_seconds: float = 5.0
    flat_percent: float = 5.0
    webhook: bool = True
    admin_url: str = ADMIN_URL
    seed: int = 1
    fail_on_growth: bool = False


@dataclass
class Report:
    options: Options
    rate: float = 0.0
    peak: Phase | None = None
    warmup: Phase | None = None
    soak: Phase | None = None
    memory: Memory | None = None
    ledger: Ledger = field(default_factory=Ledger)
    integrity: Integrity = field(default_factory=Integrity)
    webhook_received: int = 0
    webhook_events: dict[str, int] = field(default_factory=dict)
    server_log_errors: list[str] = field(default_factory=list)
    server_log_replaced: list[str] = field(default_factory=list)  # "Child process [..] died"
    server_log_levels: dict[str, int] = field(default_factory=dict)
    server_log: str = ""  # kept when the run failed
    seeded_calls: int = 0
    load_start: float = 0.0
    load_end: float = 0.0
    problems: list[str] = field(default_factory=list)  # other reasons to fail

    def errors(self) -> int:
        phases = (self.peak, self.warmup, self.soak)
        return sum(p.error_count() for p in phases if p is not None)

    def memory_flat(self) -> bool | None:
        if self.memory is None or self.soak is None:
            return None
        rows, _ = memory_rows(self.memory, self.soak.seconds)
        return rows[-1].growth_pct < self.options.flat_percent

    def failed(self) -> bool:
        grew = self.options.fail_on_growth and self.memory_flat() is False
        return bool(self.errors() or self.integrity.lost or self.problems or grew)


def read_log(path: Path) -> tuple[list[str], list[str], Counter[str]]:
    """The server log's error lines (JSON level error/critical, or anything not JSON that
    looks like a traceback), uvicorn's worker-replacement lines, and lines per level."""
    errors, replaced, levels = [], [], Counter[str]()
    for line in path.read_bytes().decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            levels["(not JSON)"] += 1
            if "Traceback" in line or "Error" in line:
                errors.append(line)
            continue
        level, message = str(entry.get("level", "?")), str(entry.get("message", ""))
        levels[level] += 1
        if level in ("error", "critical"):
            errors.append(f"{message} {entry.get('error', '')}".strip())
        if "died" in message or "failed to start" in message or "not ready in time" in message:
            replaced.append(f"{entry.get('time', '')} {message}")
    return errors, replaced, levels


async def run(options: Options, say: Console | None = None) -> Report:
    """The whole soak, in a scratch database; raises PostgresUnavailable first thing
    when the server cannot be reached."""
    report = Report(options, load_start=os.getloadavg()[0])

    def step(message: str) -> None:
        if say is not None:
            say.log(message)

    async with scratch_database(options.admin_url) as url:
        step(f"seeding tenant {TENANT!r}: {options.seed_calls:,} demo calls")
        picks = await seed_tenant(url, options.seed_calls, options.seed)
        report.seeded_calls = len(picks.seeded)
        receiver = Receiver()
        hooks = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        hook_port = hooks.sockets[0].getsockname()[1]
        log_file = Path(tempfile.mkdtemp(prefix="callhistory-soak-")) / "server.log"
        report.server_log = str(log_file)
        try:
            async with server(url, options.workers, log_file) as (base, pid):
                step(f"server up at {base} (pid {pid}), {options.workers} workers, worker on")
                if options.webhook:
                    await register_webhook(base, picks, hook_port)
                report.memory = await _drive(base, pid, picks, options, report, step)
                if options.webhook:
                    step("waiting for webhook deliveries to drain")
                    await drain_webhooks(url, picks.tenant_id, WEBHOOK_DRAIN_SECONDS)
                step("stopping the server")
            report.integrity = await verify(url, picks, report.ledger)
        finally:
            hooks.close()
            await hooks.wait_closed()
        report.webhook_received = len(receiver.deliveries)
        report.webhook_events = dict(receiver.events)
        errors, replaced, levels = read_log(log_file)
        report.server_log_errors, report.server_log_replaced = errors, replaced
        report.server_log_levels = dict(levels)
        if errors:
            report.problems.append(f"{len(errors)} error lines in the server log")
        if replaced:
            report.problems.append(f"{len(replaced)} worker(s) replaced by uvicorn (server log)")
        if not report.failed():
            report.server_log = ""
            log_file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                (log_file.parent / "exports").rmdir()
            with contextlib.suppress(OSError):
                log_file.parent.rmdir()
    report.load_end = os.getloadavg()[0]
    return report


async def _drive(
    base: str,
    pid: int,
    picks: Picks,
    options: Options,
    report: Report,
    step: Callable[[str], None],
) -> Memory:
    memory = Memory(pid)
    # Idle connections are dropped before uvicorn's own 5 s keep-alive timeout closes
    # them: with both at 5 s (httpx's default), a request sent on a connection the server
    # is closing at that moment fails with a ReadError (seen once in a 2-minute run).
    limits = httpx.Limits(
        max_connections=options.connections,
        max_keepalive_connections=options.connections,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=options.timeout) as client:
        auth = await client.get("/api/auth", params={"apiKey": picks.api_key})
        token = auth.json()["payload"]["access_token"]
        work = Workload(picks, token, options.seed, report.ledger)
        began = time.perf_counter()
        phase_name = "warm-up"
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                memory.sample(time.perf_counter() - began, phase_name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), options.sample_seconds)

        sampling = asyncio.create_task(sampler())
        try:
            step("warm-up: 4 clients, 3 s")
            report.warmup = await closed_loop(client, work, 4, 3.0, "warm-up")
            rate = options.rate
            if options.find_peak:
                phase_name = "peak"
                step(f"peak: {options.peak_clients} clients, {options.peak_seconds:g} s")
                report.peak = await closed_loop(
                    client, work, options.peak_clients, options.peak_seconds, "peak"
                )
                peak_rate = len(report.peak.samples) / report.peak.seconds
                rate = max(1.0, options.load_fraction * peak_rate)
                step(f"peak {peak_rate:.1f} req/s: soaking at {rate:.1f} req/s")
            report.rate = rate
            began = time.perf_counter()
            phase_name = "soak"
            memory.sample(0.0, phase_name)
            step(f"soak: {rate:.1f} req/s open loop for {options.duration:g} s")
            report.soak = await open_loop(
                client,
                work,
                rate,
                options.duration,
                options.connections,
                options.timeout,
                options.max_in_flight,
            )
            memory.sample(time.perf_counter() - began, phase_name)
        finally:
            stop.set()
            await sampling
        if memory.appeared:
            report.problems.append(memory.replacements())
    return memory


# ---- output ---------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:,.1f}"  # NaN: nothing measured


def latency_table(report: Report) -> Table:
    phase = report.soak
    assert phase is not None
    o = report.options
    grid = Table(
        title=f"soak: {phase.seconds:.0f} s, open loop at {report.rate:.1f} req/s, "
        f"{o.workers} workers",
        title_justify="left",
    )
    for column in ("kind", "share", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"):
        grid.add_column(column, justify="left" if column == "kind" else "right")
    total = len(phase.samples)
    weights = {k.name: k.weight / sum(x.weight for x in KINDS) for k in KINDS}
    for name in (*KIND_NAMES, "all"):
        rows = [s for s in phase.samples if name == "all" or s[0] == name]
        latencies = [s[2] for s in rows]
        errors = sum(1 for s in rows if s[3]) + (phase.not_sent if name == "all" else 0)
        share = f"{len(rows) / total:.0%}" if total else "—"
        grid.add_row(
            f"[bold]{name}[/bold]" if name == "all" else name,
            share if name == "all" else f"{share} ({weights[name]:.0%})",
            f"{len(rows):,}",
            f"{len(rows) / phase.seconds:,.1f}" if phase.seconds else "—",
            _ms(percentile(latencies, 0.50)),
            _ms(percentile(latencies, 0.99)),
            _ms(max(latencies, default=float("nan"))),
            f"[red]{errors}[/red]" if errors else "0",
            end_section=name == KIND_NAMES[-1],
        )
    return grid


def timeline_table(report: Report) -> Table:
    phase = report.soak
    assert phase is not None and report.memory is not None
    step = max(5.0, min(60.0, phase.span / 8))
    grid = Table(
        title=f"over time ({step:.0f} s windows; latency and errors of the requests due in "
        "the window, answered/s by when the answer came)",
        title_justify="left",
    )
    for column in ("window s", "due/s", "answered/s", "p50 ms", "p99 ms", "errors",
                   "max backlog", "server RSS MB", "load"):  # fmt: skip
        grid.add_column(column, justify="right")
    at, end = 0.0, max(phase.span, phase.seconds)
    while at < end - 0.5:
        upto = min(at + step, end)
        rows = [s for s in phase.samples if at <= s[1] < upto]
        latencies = [s[2] for s in rows]
        answered = sum(1 for s in phase.samples if at <= s[1] + s[2] / 1000 < upto)
        due = sum(1 for t, _ in phase.backlog if at <= t < upto)
        backlog = max((n for t, n in phase.backlog if at <= t < upto), default=0)
        mem = [s for s in report.memory.samples if s.phase == "soak" and at <= s.at < upto]
        errors = sum(1 for s in rows if s[3])
        grid.add_row(
            f"{at:.0f}–{upto:.0f}",
            f"{due / (upto - at):,.1f}",
            f"{answered / (upto - at):,.1f}",
            _ms(percentile(latencies, 0.50)),
            _ms(percentile(latencies, 0.99)),
            f"[red]{errors}[/red]" if errors else "0",
            f"{backlog:,}",
            _ms(statistics.fmean(sum(m.rss.values()) for m in mem)) if mem else "—",
            f"{max(m.load for m in mem):.1f}" if mem else "—",
        )
        at = upto
    return grid


def memory_table(report: Report) -> Table:
    assert report.memory is not None and report.soak is not None
    rows, window = memory_rows(report.memory, report.soak.seconds)
    flat = report.memory_flat()
    verdict = "[green]flat[/green]" if flat else "[red]growing[/red]"
    grid = Table(
        title=f"server RSS (/proc, every {report.options.sample_seconds:g} s): first "
        f"{window:.0f} s vs last {window:.0f} s of the soak — {verdict} "
        f"(threshold {report.options.flat_percent:g}% of the total)",
        title_justify="left",
    )
    for column in ("process", "first MB", "last MB", "growth MB", "growth %", "peak MB",
                   "2nd half MB/min"):  # fmt: skip
        grid.add_column(column, justify="left" if column == "process" else "right")
    for row in rows:
        grid.add_row(
            f"[bold]{row.process}[/bold]" if row.process == "total" else row.process,
            _ms(row.first_mb),
            _ms(row.last_mb),
            f"{row.growth_mb:+,.1f}",
            f"{row.growth_pct:+.1f}%",
            _ms(row.peak_mb),
            "—" if row.slope != row.slope else f"{row.slope:+,.2f}",
            end_section=row is rows[-2],
        )
    return grid


def integrity_table(report: Report) -> Table:
    i = report.integrity
    grid = Table(title="ingest: acknowledged = in the database exactly once", title_justify="left")
    for column in ("what", "sent", "acknowledged", "missing", "duplicated / extra"):
        grid.add_column(column, justify="left" if column == "what" else "right")

    def bad(n: int) -> str:
        return f"[red]{n}[/red]" if n else "0"

    grid.add_row(
        "FreeSWITCH legs", f"{i.legs_sent:,}", f"{i.legs_acked:,}", bad(i.legs_missing),
        bad(i.legs_repeated),
    )  # fmt: skip
    grid.add_row("FreeSWITCH calls", "", f"{i.leg_calls_acked:,}", bad(i.leg_calls_missing), "")
    grid.add_row("POST /api/cdr items", f"{i.items_sent:,}", f"{i.items_acked:,}",
                 bad(i.items_missing), "")  # fmt: skip
    grid.add_row("calls neither seeded nor sent", "", "", "", bad(i.extra_calls))
    return grid


def errors_table(report: Report) -> Table | None:
    found: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], list[str]] = {}
    for phase in (report.warmup, report.peak, report.soak):
        if phase is None:
            continue
        for (kind, error), n in phase.errors().items():
            found[(phase.name, kind, error)] += n
        for (kind, error), lines in phase.examples.items():
            examples[(phase.name, kind, error)] = lines
    if not found:
        return None
    grid = Table(title="errors", title_justify="left")
    for column in ("phase", "kind", "error", "count", "example"):
        grid.add_column(column, justify="right" if column == "count" else "left")
    for key, n in sorted(found.items()):
        grid.add_row(*key, str(n), (examples.get(key) or [""])[0][:200])
    return grid


def summary(report: Report) -> list[str]:
    o = report.options
    hook = "a webhook to a receiver in this process" if o.webhook else "no webhook registered"
    lines = [
        f"one tenant, {report.seeded_calls:,} seeded calls (demo generator); `callhistory serve "
        f"--workers {o.workers}` with its webhook/export worker on, {hook}; rate limits off"
    ]
    if report.peak is not None:
        p = report.peak
        rate = len(p.samples) / p.seconds
        lat = [s[2] for s in p.samples]
        lines.append(
            f"peak (closed loop, {o.peak_clients} clients, {p.seconds:.0f} s): {rate:,.1f} req/s, "
            f"p50 {_ms(percentile(lat, 0.5))} ms, p99 {_ms(percentile(lat, 0.99))} ms, "
            f"{p.error_count()} errors; soak rate = {o.load_fraction:g} × peak"
        )
    if report.soak is not None:
        s = report.soak
        lines.append(
            f"offered {report.rate:.1f} req/s for {s.span:.0f} s: {s.scheduled:,} requests due, "
            f"{len(s.samples):,} answered by {s.seconds:.1f} s = "
            f"{len(s.samples) / s.seconds:,.1f} req/s achieved; backlog (queued + in flight, "
            f"{o.connections} connections) at most {max((n for _, n in s.backlog), default=0):,}"
        )
        lines.append(
            f"client side, part of every latency: the generator's own lateness p99 "
            f"{_ms(percentile(s.late_ms, 0.99))} ms; wait for a free connection p50 "
            f"{_ms(percentile(s.wait_ms, 0.5))} / p99 {_ms(percentile(s.wait_ms, 0.99))} ms"
        )
    if o.webhook:
        db = report.integrity.webhook.get("in the database", {})
        lines.append(
            f"webhook deliveries received: {report.webhook_received:,} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(report.webhook_events.items()))}); "
            f"in the database: {db}"
        )
    if report.memory is not None:
        loads = [m.load for m in report.memory.samples]
        lines.append(
            f"load average (1 min): {report.load_start:.2f} at the start, "
            f"{statistics.fmean(loads) if loads else 0:.2f} mean / {max(loads, default=0):.2f} "
            f"max during the run, {report.load_end:.2f} at the end, on {os.cpu_count()} CPUs "
            "(server, PostgreSQL and this load generator share them)"
        )
    lines += [f"[red]{e}[/red]" for e in report.integrity.examples]
    lines += [f"[red]{p}[/red]" for p in report.problems]
    lines += [f"[red]server log: {line[:300]}[/red]" for line in report.server_log_errors[:10]]
    lines += [f"[red]server log: {line}[/red]" for line in report.server_log_replaced[:5]]
    if report.server_log:
        lines.append(f"the server's log is kept: {report.server_log}")
    errors, lost = report.errors(), report.integrity.lost
    verdict = "[red]FAILED[/red]" if report.failed() else "[green]OK[/green]"
    lines.append(f"{verdict}: {errors} errors, {lost} lost or duplicated records")
    return lines


def as_json(report: Report) -> dict[str, Any]:
    def phase(p: Phase | None) -> dict[str, Any] | None:
        if p is None:
            return None
        kinds = {}
        for name in (*KIND_NAMES, "all"):
            lat = [s[2] for s in p.samples if name == "all" or s[0] == name]
            kinds[name] = {
                "requests": len(lat),
                "p50_ms": percentile(lat, 0.5) if lat else None,
                "p99_ms": percentile(lat, 0.99) if lat else None,
                "max_ms": max(lat, default=None),
            }
        return {
            "span": p.span,
            "seconds": p.seconds,
            "max_backlog": max((n for _, n in p.backlog), default=0),
            "late_p99_ms": percentile(p.late_ms, 0.99) if p.late_ms else None,
            "connection_wait_p99_ms": percentile(p.wait_ms, 0.99) if p.wait_ms else None,
            "scheduled": p.scheduled,
            "answered": len(p.samples),
            "rps": len(p.samples) / p.seconds if p.seconds else None,
            "not_sent": p.not_sent,
            "errors": {f"{k} | {e}": n for (k, e), n in p.errors().items()},
            "error_examples": {f"{k} | {e}": v for (k, e), v in p.examples.items()},
            "kinds": kinds,
        }

    memory: dict[str, Any] | None = None
    if report.memory is not None and report.soak is not None:
        rows, window = memory_rows(report.memory, report.soak.seconds)
        memory = {
            "window_seconds": window,
            "flat": report.memory_flat(),
            "rows": [
                {**asdict(r), "growth_mb": r.growth_mb, "growth_pct": r.growth_pct} for r in rows
            ],
            "samples": [asdict(s) for s in report.memory.samples],
        }
    return {
        "options": asdict(report.options),
        "rate": report.rate,
        "cpus": os.cpu_count(),
        "load_start": report.load_start,
        "load_end": report.load_end,
        "seeded_calls": report.seeded_calls,
        "peak": phase(report.peak),
        "soak": phase(report.soak),
        "memory": memory,
        "integrity": {**asdict(report.integrity), "lost": report.integrity.lost},
        "webhook_received": report.webhook_received,
        "webhook_events": report.webhook_events,
        "problems": report.problems,
        "server_log_errors": report.server_log_errors[:50],
        "server_log_replaced": report.server_log_replaced[:50],
        "server_log_levels": report.server_log_levels,
        "server_log": report.server_log,
        "replacements": [
            {"pid": pid, "phase": phase, "at": at}
            for pid, phase, at in (report.memory.appeared if report.memory else [])
        ],
        "errors": report.errors(),
        "failed": report.failed(),
    }


def parse_args(argv: Sequence[str] | None = None) -> tuple[Options, str | None]:
    d = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=d.duration, help="soak seconds (600)")
    parser.add_argument("--rate", type=float, default=d.rate, help="requests/s, open loop (20)")
    parser.add_argument("--find-peak", action="store_true", help="measure the peak first")
    parser.add_argument("--peak-seconds", type=float, default=d.peak_seconds)
    parser.add_argument("--peak-clients", type=int, default=d.peak_clients)
    parser.add_argument(
        "--load-fraction", type=float, default=d.load_fraction, help="rate = this × peak (0.7)"
    )
    parser.add_argument("--seed-calls", type=int, default=d.seed_calls)
    parser.add_argument("--workers", type=int, default=d.workers)
    parser.add_argument("--connections", type=int, default=d.connections, help="client pool")
    parser.add_argument(
        "--timeout",
        type=float,
        default=d.timeout,
        help="httpx timeout (s); a request queued longer than this is given up (30)",
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=d.max_in_flight, help="backlog cap (2,000)"
    )
    parser.add_argument("--sample-seconds", type=float, default=d.sample_seconds)
    parser.add_argument(
        "--flat-percent", type=float, default=d.flat_percent, help="RSS growth called flat (5)"
    )
    parser.add_argument("--no-webhook", action="store_true", help="register no webhook")
    parser.add_argument("--fail-on-growth", action="store_true", help="exit 1 unless flat")
    parser.add_argument("--admin-url", default=d.admin_url)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args(argv)
    options = Options(
        duration=args.duration,
        rate=args.rate,
        find_peak=args.find_peak,
        peak_seconds=args.peak_seconds,
        peak_clients=args.peak_clients,
        load_fraction=args.load_fraction,
        seed_calls=args.seed_calls,
        workers=args.workers,
        connections=args.connections,
        timeout=args.timeout,
        max_in_flight=args.max_in_flight,
        sample_seconds=args.sample_seconds,
        flat_percent=args.flat_percent,
        webhook=not args.no_webhook,
        admin_url=args.admin_url,
        seed=args.seed,
        fail_on_growth=args.fail_on_growth,
    )
    return options, args.json


def main(argv: Sequence[str] | None = None) -> int:
    options, json_path = parse_args(argv)
    err = Console(stderr=True)
    try:
        report = asyncio.run(run(options, err))
    except PostgresUnavailable as exc:
        err.print(f"[red]PostgreSQL is not reachable[/red] at {options.admin_url}: {exc}")
        return 2
    except RuntimeError as exc:  # the server did not start, a webhook was refused
        err.print(f"[red]the soak stopped[/red]: {exc}", highlight=False)
        return 1
    out = Console(width=max(Console().width, 140))
    if report.soak is not None:
        out.print(latency_table(report))
        out.print(timeline_table(report))
        out.print(memory_table(report))
    table = errors_table(report)
    if table is not None:
        out.print(table)
    out.print(integrity_table(report))
    for line in summary(report):
        out.print(f"  {line}", highlight=False)
    if json_path:
        Path(json_path).write_text(json.dumps(as_json(report), ensure_ascii=False, indent=1))
    return 1 if report.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
