"""Read-path benchmark: the real server under fixed concurrency, beside the database floor.

    python -m bench.api --database postgresql://postgres@127.0.0.1:5432/callhistory_bench_10m
    python -m bench.api --calls 10000            # loads a fresh database first (bench.load)
    python -m bench.api --database sqlite:///bench.db --only list

Runs `callhistory serve --workers W` in a subprocess against the database and, for each
query (all for the biggest tenant, "bench-big", over the last 30 days):

- `--concurrency` (16) httpx async clients for `--seconds` each: p50 / p95 / p99 and
  requests per second;
- the API's p50 and p95 at concurrency 1, then the floor: the same SQL the endpoint runs
  (captured by executing callhistory's own query functions through an engine whose
  statements are recorded) replayed straight on the database with asyncpg (prepared,
  one connection, concurrency 1), or with sqlite3 for the embedded store. `overhead`
  is API p50 (c=1) minus floor p50.

Targets (issue 13) are the API's p95 at concurrency 1 per query, and for page 1 of the
equality-filtered lists the requests a second at saturation too. On SQLite (`--database
sqlite:///file.db`, or `--sqlite file.db` with `--calls`) they are the embedded store's
for list page 1 (c=1 p95 ≤ 10 ms, any filter) and keyword (≤ 150 ms), with no saturation
target, PostgreSQL's elsewhere; and, when Datasette is installed (`--datasette
auto|on|off`), each page-1 list query is followed by its Datasette twin on the same file
at the same concurrency, rows "datasette: …" (bench/datasette_rows.py: what is and is
not the same). `--explain` prints every reading statement's plan (PostgreSQL: analysed).

One rich table; `--json FILE` writes the rows too. With `--calls`, the database made is
dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench import datasette_rows, serving
from bench import load as bench_load
from callhistory.auth import keys
from callhistory.calls import queries, store
from callhistory.calls.params import DAY_MS, CallFilter, Paging
from callhistory.db import SERVER_SETTINGS, create_engine, now_ms, writing
from callhistory.evaluations import report as evaluation_report
from callhistory.reports.routes import _counts
from callhistory.schema import call_users, calls, customers, hotlines, queues, tags
from callhistory.stats import queries as stats_queries
from callhistory.stats.buckets import sql_step

SIZE = 50
LIST_RPS = 400.0  # page-1 lists a second at saturation, server and database on 2 cores
PAGE_FAR = 200
QUERY_NAMES = (
    "list", "list direction", "list disposition", "list agents", "list sip_numbers",
    "list queue", "list is_auto_call", "list keyword name", "list keyword number",
    "list page 200", "search agent", "search tags", "detail", "change", "report",
    "evaluations report", "stats agents", "stats queues",
)  # fmt: skip
# The page-1 list queries, each followed by its Datasette twin on SQLite.
TWINNED = tuple(n for n in QUERY_NAMES if n.startswith("list") and n != "list page 200")


@dataclass
class Query:
    name: str
    target_ms: float | None  # the API's p95 at concurrency 1
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    # the endpoint's queries, run through an engine whose SQL is recorded
    sql: Callable[[AsyncConnection], Awaitable[Any]] | None = None
    writes: bool = False
    rotate: list[str] = field(default_factory=list)  # transaction ids, one per request
    filt: CallFilter | None = None  # a list query's filter (its Datasette twin's too)
    page: int = 1
    target_rps: float | None = None  # requests a second at saturation


@dataclass
class Result:
    name: str
    p50: float
    p95: float
    p99: float
    rps: float
    c1_p50: float
    c1_p95: float
    floor_p50: float
    floor_p95: float
    statements: int
    target_ms: float | None
    errors: int
    sql: list[str] = field(default_factory=list)
    note: str = ""
    target_rps: float | None = None

    @property
    def met(self) -> bool:
        fast = self.target_ms is None or self.c1_p95 <= self.target_ms
        return fast and (self.target_rps is None or self.rps >= self.target_rps)

    @property
    def overhead(self) -> float:
        return self.c1_p50 - self.floor_p50


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the workload -----------------------------------------------------------------------


@dataclass
class Picks:
    tenant_id: str
    key: str
    start: int
    end: int
    agent_email: str
    user_uuid: str
    hotline: str
    queue: str
    tag_id: str
    name_word: str
    number_fragment: str
    transaction_ids: list[str]


async def _picks(engine: AsyncEngine) -> Picks:
    end = now_ms()
    start = end - 30 * DAY_MS
    async with writing(engine) as conn:
        tenant = await keys.find_tenant(conn, bench_load.BIG_TENANT)
        if tenant is None:
            raise SystemExit(f"no tenant {bench_load.BIG_TENANT!r}: load with bench.load first")
        _, key = await keys.create_key(conn, tenant.id, "bench")
    async with engine.connect() as conn:
        t = tenant.id
        agent = (
            await conn.execute(
                select(call_users.c.email, call_users.c.user_uuid)
                .where(call_users.c.tenant_id == t, call_users.c.created_date >= start)
                .limit(1)
            )
        ).one()
        hotline = await conn.scalar(
            select(hotlines.c.number).where(hotlines.c.tenant_id == t).order_by(hotlines.c.number)
        )
        queue = await conn.scalar(
            select(queues.c.number).where(queues.c.tenant_id == t).order_by(queues.c.number)
        )
        tag_id = await conn.scalar(
            select(tags.c.id).where(tags.c.tenant_id == t, tags.c.name_folded == "vip")
        )
        customer = (
            await conn.execute(
                select(customers.c.full_name, customers.c.phone)
                .where(customers.c.tenant_id == t, customers.c.full_name.not_like("C%"))
                .order_by(customers.c.id)
                .limit(1)
            )
        ).one()
        ids = (
            await conn.scalars(
                select(calls.c.transaction_id)
                .where(calls.c.tenant_id == t, calls.c.created_date.between(start, end))
                .order_by(calls.c.created_date.desc())
                .limit(2000)
            )
        ).all()
    # a customer's full name (several words, as people type it) and a number's middle
    return Picks(
        tenant.id, key, start, end, agent.email, agent.user_uuid, hotline or "", queue or "",
        tag_id or "", customer.full_name, customer.phone[3:8], list(ids),
    )  # fmt: skip


def _workload(p: Picks) -> list[Query]:
    window = {"from_date": p.start, "to_date": p.end}
    f = CallFilter(p.start, p.end)

    def listing(
        name: str,
        target: float,
        extra: dict[str, Any],
        filt: CallFilter,
        page: int = 1,
    ) -> Query:
        paging = Paging(page, SIZE)

        async def sql(conn: AsyncConnection) -> Any:
            await queries.counted_page(conn, p.tenant_id, filt, paging)

        params = {**window, **extra, "size": SIZE, "page": page}
        # page 1 of an equality filter: the saturation target too
        equality = page == 1 and not (filt.keyword or filt.agents)
        return Query(
            name, target, "GET", "/api/call_transaction/list", params, sql=sql, filt=filt,
            page=page, target_rps=LIST_RPS if equality else None,
        )  # fmt: skip

    def with_(**kw: Any) -> CallFilter:
        return CallFilter(p.start, p.end, **kw)

    search_filter = with_(user_uuids=[p.user_uuid])
    tag_filter = with_(user_uuids=[p.user_uuid], tag_ids=[p.tag_id])

    async def search_sql(conn: AsyncConnection, filt: CallFilter = search_filter) -> Any:
        await queries.counted_page(conn, p.tenant_id, filt, Paging(1, SIZE))  # as the route

    async def tag_sql(conn: AsyncConnection) -> Any:
        await search_sql(conn, tag_filter)

    tid = p.transaction_ids[0]

    async def detail_sql(conn: AsyncConnection) -> Any:
        await queries.one(conn, p.tenant_id, tid)

    async def change_sql(conn: AsyncConnection) -> Any:
        await queries.one(conn, p.tenant_id, tid)
        await store.change(
            conn, p.tenant_id, tid, note="gọi lại sau 3 giờ", note_given=True, tag_names=None
        )

    async def report_sql(conn: AsyncConnection) -> Any:
        await _counts(conn, p.tenant_id, f)

    async def evaluations_sql(conn: AsyncConnection) -> Any:
        await evaluation_report.build(
            conn, p.tenant_id, evaluation_report.ReportFilter(p.start, p.end)
        )

    by_day = sql_step(
        ZoneInfo(bench_load.TIME_ZONE), f.from_ms, f.to_ms, "day"
    )  # as the route picks

    async def stats_agents_sql(conn: AsyncConnection) -> Any:
        await stats_queries.agent_rows(conn, p.tenant_id, f, [], by_day)

    async def stats_queues_sql(conn: AsyncConnection) -> Any:
        await stats_queries.queue_rows(conn, p.tenant_id, f, by_day)

    search_body = {**window, "user_uuids": [p.user_uuid]}
    # issue 13's targets: the API's p95 at concurrency 1, and page-1 lists at saturation
    return [
        listing("list", 8, {}, f),
        listing("list direction", 8, {"direction": "inbound"}, with_(directions=["inbound"])),
        listing(
            "list disposition", 8, {"disposition": "cancelled"}, with_(dispositions=["cancelled"])
        ),
        listing("list agents", 10, {"agents": p.agent_email}, with_(agents=[p.agent_email])),
        listing("list sip_numbers", 8, {"sip_numbers": p.hotline}, with_(hotlines=[p.hotline])),
        listing("list queue", 8, {"queue_destination": p.queue}, with_(queues=[p.queue])),
        listing("list is_auto_call", 8, {"is_auto_call": "true"}, with_(is_auto_call=True)),
        listing("list keyword name", 40, {"keyword": p.name_word}, with_(keyword=p.name_word)),
        listing(
            "list keyword number",
            40,
            {"keyword": p.number_fragment},
            with_(keyword=p.number_fragment),
        ),
        listing("list page 200", 15, {}, f, page=PAGE_FAR),
        Query(
            "search agent",
            10,
            "POST",
            "/api/call_transaction/search",
            {"page": 1, "size": SIZE},
            search_body,
            sql=search_sql,
        ),
        Query(
            "search tags",
            10,
            "POST",
            "/api/call_transaction/search",
            {"page": 1, "size": SIZE},
            {**search_body, "tags": [p.tag_id]},
            sql=tag_sql,
        ),
        Query(
            "detail",
            3,
            "GET",
            "/api/call_transaction/detail/{tid}",
            sql=detail_sql,
            rotate=p.transaction_ids,
        ),
        Query(
            "change",
            8,
            "POST",
            "/api/call_transaction/change/{tid}",
            body={"note": "gọi lại sau 3 giờ"},
            sql=change_sql,
            writes=True,
            rotate=p.transaction_ids,
        ),
        Query("report", 8, "GET", "/api/call_transaction/report", window, sql=report_sql),
        Query(
            "evaluations report",
            30,
            "GET",
            "/api/evaluations/report",
            window,
            sql=evaluations_sql,
        ),
        # issue 17: "from maintained rollups, in milliseconds at 10 M calls"
        Query(
            "stats agents",
            30,
            "GET",
            "/api/stats/agents",
            {**window, "interval": "day"},
            sql=stats_agents_sql,
        ),
        Query(
            "stats queues",
            30,
            "GET",
            "/api/stats/queues",
            {**window, "interval": "day"},
            sql=stats_queues_sql,
        ),
    ]


# --- the floor ----------------------------------------------------------------------------


async def capture(engine: AsyncEngine, q: Query) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements (driver SQL and parameters) the query's code runs, in order."""
    captured: list[tuple[str, tuple[Any, ...]]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, tuple(parameters or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.connect() as conn:
            assert q.sql is not None
            await q.sql(conn)
            await conn.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return captured


async def _postgres(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection set up as the API's own (its plan cache mode)."""
    return await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False),
        server_settings=SERVER_SETTINGS,
    )


async def floor_postgres(
    url: str, statements: list[tuple[str, tuple[Any, ...]]], writes: bool, seconds: float
) -> list[float]:
    conn = await _postgres(url)
    times: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 5:
            began = time.perf_counter()
            tx = conn.transaction()
            await tx.start()
            for sql, args in statements:
                await conn.fetch(sql, *args)
            await (tx.rollback() if writes else tx.commit())
            times.append((time.perf_counter() - began) * 1000)
    finally:
        await conn.close()
    return times[2:]  # the first runs prepare the statements


def floor_sqlite(
    path: str, statements: list[tuple[str, tuple[Any, ...]]], writes: bool, seconds: float
) -> list[float]:
    db = sqlite3.connect(path, isolation_level=None)
    times: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 5:
            began = time.perf_counter()
            # a writer takes the lock first, as the API's writers do: a deferred read
            # that turns into a write fails at once if another writer committed meanwhile
            db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
            for sql, args in statements:
                db.execute(sql, args).fetchall()
            db.execute("ROLLBACK" if writes else "COMMIT")
            times.append((time.perf_counter() - began) * 1000)
    finally:
        db.close()
    return times[2:]


# --- the server and the load ----------------------------------------------------------------


@contextlib.contextmanager
def server(url: str, workers: int) -> Iterator[str]:
    port = serving.free_port()
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": url,
        "CALLHISTORY_RATE_LIMIT_API": "0",  # unlimited: one key makes every request
        "CALLHISTORY_LOG_LEVEL": "warning",
    }
    command = [*serving.callhistory_command(), "serve", "--workers", str(workers)]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    with serving.running(
        "the server", process, lambda: serving.answers(f"{base}/api/health", lambda s: s < 500)
    ):
        yield base


async def drive(
    base: str,
    key: str,
    q: Query,
    concurrency: int,
    seconds: float,
    inspect: Callable[[httpx.Response], None] | None = None,
) -> tuple[list[float], float, int]:
    """Latencies (ms), requests per second and errors for `seconds` at `concurrency`;
    `inspect` sees every 200 answer (Datasette's counts)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"x-api-key": key}, limits=limits, timeout=30
    ) as client:

        async def one() -> None:
            nonlocal errors
            n = next(counter)
            path = q.path
            if q.rotate:
                path = path.format(tid=q.rotate[n % len(q.rotate)])
            began = time.perf_counter()
            try:
                response = await client.request(q.method, path, params=q.params, json=q.body)
                failed = response.status_code != 200
            except httpx.HTTPError:  # a timeout counts as an error, and its full wait
                failed = True
            elapsed = (time.perf_counter() - began) * 1000
            if failed:
                errors += 1
            elif inspect is not None:
                inspect(response)
            latencies.append(elapsed)

        for _ in range(concurrency * 2):  # warm every connection and worker
            await one()
        latencies.clear()
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                await one()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return latencies, len(latencies) / wall, errors


# --- the run --------------------------------------------------------------------------------

# The embedded store's own targets (p95 at c=1, ms): list page 1 by any filter and
# keyword, no saturation target (one file, one writer); PostgreSQL's elsewhere.
SQLITE_LIST_PAGE_1 = 10.0
SQLITE_KEYWORD = 150.0


def sqlite_targets(workload: list[Query]) -> None:
    for q in workload:
        q.target_rps = None
        if q.filt is not None and q.filt.keyword:
            q.target_ms = SQLITE_KEYWORD
        elif q.filt is not None and q.page == 1:
            q.target_ms = SQLITE_LIST_PAGE_1


def checkpoint(path: str) -> None:
    """Everything committed into the file itself, the WAL emptied (Datasette's -i reads
    the file only)."""
    db = sqlite3.connect(path)
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise SystemExit(f"{path}: another connection blocks the checkpoint")
    finally:
        db.close()


async def _floor(url: str, statements: list[tuple[str, tuple[Any, ...]]], writes: bool,
                 seconds: float) -> list[float]:  # fmt: skip
    if bench_load.is_postgres(url):
        return await floor_postgres(url, statements, writes, seconds)
    path = make_url(url).database or ""
    return await asyncio.to_thread(floor_sqlite, path, statements, writes, seconds)


async def measure(
    base: str,
    url: str,
    key: str,
    q: Query,
    statements: list[tuple[str, tuple[Any, ...]]],
    concurrency: int,
    seconds: float,
    console: Console,
    inspect: Callable[[httpx.Response], None] | None = None,
) -> Result:
    console.print(f"[dim]{q.name}…[/]")
    lat, rps, errors = await drive(base, key, q, concurrency, seconds, inspect)
    c1, _, errors1 = await drive(base, key, q, 1, max(0.2, seconds / 3), inspect)
    floor = await _floor(url, statements, q.writes, max(0.2, seconds / 3))
    r = Result(
        q.name, _pct(lat, 0.5), _pct(lat, 0.95), _pct(lat, 0.99), rps,
        statistics.median(c1), _pct(c1, 0.95), _pct(floor, 0.5), _pct(floor, 0.95),
        len(statements), q.target_ms, errors + errors1, [s for s, _ in statements],
        target_rps=q.target_rps,
    )  # fmt: skip
    console.print(
        f"[dim]{r.name}: p50 {r.p50:.1f} p95 {r.p95:.1f} ms, {r.rps:.0f} req/s, "
        f"c=1 {r.c1_p50:.1f} / {r.c1_p95:.1f}, floor {r.floor_p50:.1f} ms[/]"
    )
    return r


async def measure_twin(
    datasette: str, url: str, ours: str, picks: Picks, q: Query, concurrency: int,
    seconds: float, console: Console, captured: dict[str, list[tuple[str, tuple[Any, ...]]]],
) -> Result | None:  # fmt: skip
    """Datasette's twin of the list query `q` (bench/datasette_rows.py), beside ours."""
    assert q.filt is not None
    params = datasette_rows.params(picks.tenant_id, q.filt, SIZE)
    if params is None:
        return None
    name = Path(make_url(url).database or "").stem
    twin = Query(datasette_rows.PREFIX + q.name, None, "GET", f"/{name}/calls.json", params)
    async with httpx.AsyncClient(timeout=120) as client:
        first = await client.get(datasette + twin.path, params=params)
        if first.status_code != 200:
            raise SystemExit(f"datasette answered {first.status_code}: {first.text[:500]}")
        mine = await client.get(ours + q.path, params=q.params, headers={"x-api-key": picks.key})
    total = int(mine.json()["payload"]["total_items"])
    counts = datasette_rows.Counts()
    statements = captured[twin.name] = datasette_rows.statements(first.json())
    r = await measure(
        datasette, url, picks.key, twin, statements, concurrency, seconds, console, counts.inspect
    )
    notes = [f"count null {counts.missing}×"] if counts.missing else []
    if counts.values - {total}:
        notes.append(f"count {sorted(counts.values)} ≠ ours {total}")
    r.note = ", ".join(notes) or "same count"
    return r


async def explain(url: str, name: str, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Each reading statement's plan (what --explain prints): SQLite's EXPLAIN QUERY PLAN,
    PostgreSQL's EXPLAIN (ANALYZE, BUFFERS), run once."""
    reads = [(sql, args) for sql, args in statements
             if sql.lstrip().upper().startswith(("SELECT", "WITH"))]  # fmt: skip
    heads = [f"{name} [{i}] {' '.join(sql.split())[:160]}" for i, (sql, _) in enumerate(reads, 1)]
    lines: list[str] = []
    if bench_load.is_postgres(url):
        conn = await _postgres(url)
        try:
            for head, (sql, args) in zip(heads, reads, strict=True):
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
                lines += [head, *(f"    {row[0]}" for row in plan)]
        finally:
            await conn.close()
        return lines
    db = sqlite3.connect(make_url(url).database or "")
    try:
        for head, (sql, args) in zip(heads, reads, strict=True):
            lines.append(head)
            for _, parent, _, detail in db.execute(f"EXPLAIN QUERY PLAN {sql}", args):
                lines.append(f"    {'  ' if parent else ''}{detail}")
    finally:
        db.close()
    return lines


async def run(
    url: str,
    workers: int,
    concurrency: int,
    seconds: float,
    only: list[str] | None,
    console: Console,
    datasette: str | None = None,
    show_plans: bool = False,
) -> list[Result]:
    """Every query of the workload on our server; with `datasette` (its command, SQLite
    only), each page-1 list query's Datasette twin too, right after ours."""
    engine = create_engine(url)
    try:
        picks = await _picks(engine)
        workload = [q for q in _workload(picks) if not only or any(o in q.name for o in only)]
        captured = {q.name: await capture(engine, q) for q in workload}
    finally:
        await engine.dispose()
    sqlite = not bench_load.is_postgres(url)
    if sqlite:
        sqlite_targets(workload)
        checkpoint(make_url(url).database or "")
    results: list[Result] = []
    twins: list[Result] = []
    with server(url, workers) as base, contextlib.ExitStack() as beside:
        other = None
        if datasette is not None and sqlite:
            path = make_url(url).database or ""
            other = beside.enter_context(datasette_rows.serve(datasette, path, serving.free_port()))
        for q in workload:
            if q.writes and other is not None:  # Datasette's immutable file must not change
                beside.close()
                other = None
            results.append(
                await measure(base, url, picks.key, q, captured[q.name], concurrency, seconds,
                              console)
            )  # fmt: skip
            if other is not None and q.filt is not None and q.page == 1:
                twin = await measure_twin(
                    other, url, base, picks, q, concurrency, seconds, console, captured
                )
                twins += [twin] if twin else []
    if show_plans:
        for q in workload:
            for line in await explain(url, q.name, captured[q.name]):
                console.print(line, markup=False, highlight=False)
        for r in twins:
            for line in await explain(url, r.name, captured[r.name]):
                console.print(line, markup=False, highlight=False)
    return results + twins


def table(results: list[Result], title: str) -> Table:
    t = Table(title=title)
    for column in ("query", "p50 ms", "p95 ms", "p99 ms", "req/s", "c=1 p50", "c=1 p95",
                   "floor p50", "floor p95", "overhead", "SQL", "target c=1 p95",
                   "target req/s", "ok"):  # fmt: skip
        t.add_column(column, justify="left" if column == "query" else "right")
    for i, r in enumerate(results):
        verdict = r.note or ("[green]yes[/]" if r.met else "[red]no[/]")
        following = results[i + 1].name if i + 1 < len(results) else ""
        t.add_row(
            r.name, f"{r.p50:.1f}", f"{r.p95:.1f}", f"{r.p99:.1f}", f"{r.rps:,.0f}",
            f"{r.c1_p50:.1f}", f"{r.c1_p95:.1f}", f"{r.floor_p50:.1f}", f"{r.floor_p95:.1f}",
            f"{r.overhead:+.1f}", str(r.statements),
            "—" if r.target_ms is None else f"≤ {r.target_ms:g}",
            "—" if r.target_rps is None else f"≥ {r.target_rps:g}",
            verdict + (f" ({r.errors} err)" if r.errors else ""),
            end_section=following.startswith(datasette_rows.PREFIX)
            and not r.name.startswith(datasette_rows.PREFIX),
        )  # fmt: skip
    return t


def _datasette_command(choice: str, url: str, console: Console) -> str | None:
    """Datasette's command when its rows are to run; says why not otherwise."""
    if choice == "off":
        return None
    if bench_load.is_postgres(url):
        if choice == "on":
            raise SystemExit("--datasette on: Datasette serves SQLite files only")
        return None
    command = datasette_rows.executable()
    if command is None:
        if choice == "on":
            raise SystemExit("--datasette on: datasette is not installed (pip install datasette)")
        console.print("datasette rows skipped: datasette is not installed (pip install datasette)")
        return None
    console.print(f"[dim]datasette {datasette_rows.version(command)} beside ours[/]")
    return command


async def _main(args: argparse.Namespace) -> None:
    console = Console(width=max(Console().width, 150))
    made: str | None = None
    url = args.database
    if url is None:
        made = url = await bench_load.create_database(
            None if args.sqlite is None else f"sqlite:///{args.sqlite}", args.admin_url
        )
        await bench_load.load(url, args.calls, console=Console(stderr=True))
    try:
        datasette = _datasette_command(args.datasette, url, console)
        results = await run(
            url, args.workers, args.concurrency, args.seconds, args.only, console,
            datasette, args.explain,
        )  # fmt: skip
    finally:
        if made is not None and not args.keep:
            await bench_load.drop_database(made)
    where = "PostgreSQL" if bench_load.is_postgres(url) else "SQLite"
    title = (
        f"callhistory API, {where}, {args.workers} workers, {args.concurrency} clients, "
        f"{args.seconds:g} s per query"
    )
    if where == "SQLite":
        title += (
            f"; targets: list page 1 ≤ {SQLITE_LIST_PAGE_1:g}, keyword ≤ {SQLITE_KEYWORD:g} "
            "(SQLite's), PostgreSQL's elsewhere"
        )
    console.print(table(results, title))
    if args.json:
        text = json.dumps([asdict(r) for r in results], indent=1)
        await asyncio.to_thread(Path(args.json).write_text, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a database bench.load filled")
    parser.add_argument("--calls", type=int, default=10_000, help="without --database: load N")
    parser.add_argument("--sqlite", help="without --database: load into this SQLite file")
    parser.add_argument("--admin-url", default=bench_load.ADMIN_URL)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per query, at concurrency")
    parser.add_argument("--only", nargs="*", help="queries whose name contains one of these")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--datasette",
        choices=("auto", "on", "off"),
        default="auto",
        help="SQLite: Datasette's twin of each page-1 list query (auto: if installed)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print each reading statement's plan"
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
