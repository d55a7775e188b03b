"""Fill a database with call-center-scale data, fast, for the API benchmark.

    python -m bench.load --calls 10000000                     # PostgreSQL, fresh database
    python -m bench.load --calls 1000000 --database sqlite:///bench.db
    python -m bench.load --calls 10000000 --database postgresql://postgres@127.0.0.1/x --keep

20 tenants, the first ("bench-big") holding half the calls, spread over the last 12
months (52 weeks, oldest first, so the table's physical order follows time as ingest
would leave it). Realism comes from the demo generator (src/callhistory/demo): each
tenant gets its own directory (agents, customers, hotlines, queues, tags) and a pool of
calls made by its CallMaker over one week, with ~30% carrying notes or tags (call_users
and call_tags rows too); every stored call is a pool call with a fresh transaction id
and _id, moved to its week. About 1% of answered calls carry an evaluation (three
criteria), so the quality report has something to average.

PostgreSQL: COPY (asyncpg copy_records_to_table) with foreign keys and triggers off for
the loading session (session_replication_role = replica), the secondary indexes dropped
first and rebuilt at the end, then ANALYZE. SQLite: executemany in one transaction per
week, WAL and synchronous=OFF for the load only (FULL again after, then a checkpoint),
triggers and the same secondary indexes off meanwhile. Either way, what the triggers
would have written (the change feed, the per-hour totals and rollups) is written
after, in one statement per table, and checked exact (bench/derived.py).

The database is created when missing (a fresh callhistory_bench_<hex> when none is
given) and migrated first; it is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sqlite3
import time
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Index, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex

from bench import derived
from callhistory import schema
from callhistory.auth import keys
from callhistory.db import create_engine, migrate, new_id, now_ms, writing
from callhistory.demo import directory
from callhistory.demo.calls import CallMaker, CallRows
from callhistory.demo.clock import _DAY_WEIGHTS, _HOUR_WEIGHTS, HOUR_MS, LONGEST_CALL_MS, Clock

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BIG_TENANT = "bench-big"
N_TENANTS = 20
WEEKS = 52
WEEK_MS = 7 * 86_400_000
POOL_BIG = 60_000  # distinct demo calls per tenant to draw from
POOL_SMALL = 6_000
EVALUATED_SHARE = 0.01
CRITERIA = (("Chào khách", 5, 1.0), ("Xác minh danh tính", 10, 2.0), ("Giải quyết", 10, 1.5))
TIME_ZONE = "Asia/Ho_Chi_Minh"

# The tables COPY fills, whose secondary indexes are rebuilt after the load.
_LOADED = (schema.calls, schema.call_users, schema.call_tags)
_LOADED_EVALS = (schema.call_evaluations, schema.call_evaluation_scores)
_VACUUMED = (
    "calls", "call_users", "call_tags", "call_evaluations", "call_evaluation_scores", "tags",
    "agents", "call_hour_totals", "call_changes", "agent_hour_totals", "queue_hour_totals",
)  # fmt: skip


class WeekClock(Clock):
    """The demo clock over the last 7 days (the demo's own spans 60)."""

    def __init__(self, now: int, time_zone: str, days: int = 7) -> None:
        self.now, self.days = now, days
        zone = ZoneInfo(time_zone)
        midnight = datetime.fromtimestamp(now / 1000, zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        span = [
            datetime.combine(midnight.date() - timedelta(days=i), midnight.time(), zone)
            for i in range(days)
        ]
        self.day_starts = [int(day.timestamp() * 1000) for day in span]
        self.weekdays = [day.weekday() for day in span]
        self.dates = [day.strftime("%Y/%m/%d") for day in span]
        self.day_cum = {
            k: tuple(accumulate(w[day.weekday()] for day in span)) for k, w in _DAY_WEIGHTS.items()
        }
        self.hour_cum = {k: tuple(accumulate(w)) for k, w in _HOUR_WEIGHTS.items()}

    def start(self, rng: random.Random, direction: str) -> tuple[int, bool, str]:
        days_cum, hours_cum = self.day_cum[direction], self.hour_cum[direction]
        while True:
            day = bisect(days_cum, rng.random() * days_cum[-1])
            hour = bisect(hours_cum, rng.random() * hours_cum[-1])
            start = self.day_starts[day] + hour * HOUR_MS + rng.randrange(HOUR_MS)
            if start + LONGEST_CALL_MS < self.now:
                weekday = self.weekdays[day]
                closing = 18 if weekday < 5 else 12 if weekday == 5 else 0
                return start, 8 <= hour < closing, self.dates[day]


CALL_COLUMNS: tuple[str, ...] = (
    "tenant_id", "transaction_id", "id", "created_date", "last_updated_date", "direction",
    "disposition", "source_number", "destination_number", "sip_user", "hotline",
    "queue_destination", "is_auto_call", "search_text", "duration", "bill_sec",
    "record_seconds", "answer_sec", "wait_sec", "hold_call_sec", "bill_sec_forward_out",
    "time_start_call", "time_start_to_answer", "ms_time_start_to_answer", "time_start_media",
    "time_end_call", "hangup_cause", "hangup_cause_q850", "dial_status", "rtp_audio_in_mos",
    "sip_from_user", "domain", "domain_fusion", "pbx_type", "provider", "call_out_price",
    "recording_file", "recording_file_voicemail", "is_voicemail", "is_have_forward_out",
    "is_missed_call", "customer_id", "customer_name", "customer_number", "create_by",
    "internal_destination", "note",
)  # fmt: skip
USER_COLUMNS: tuple[str, ...] = (
    "tenant_id", "transaction_id", "position", "created_date", "agent_id", "email",
    "user_uuid", "sip_user", "full_name", "full_name_unsigned", "note", "note_created_date",
)  # fmt: skip
TAG_COLUMNS: tuple[str, ...] = (
    "tenant_id", "transaction_id", "user_position", "tag_id", "position", "created_date",
)  # fmt: skip
EVAL_COLUMNS: tuple[str, ...] = (
    "tenant_id", "transaction_id", "id", "call_created_date", "evaluator_id",
    "evaluator_name", "evaluator_email", "evaluator_user_uuid", "evaluator_sip_user", "note",
    "score", "created_date", "last_updated_date",
)  # fmt: skip
SCORE_COLUMNS: tuple[str, ...] = (
    "tenant_id", "transaction_id", "evaluation_id", "criteria_id", "position",
    "criteria_name", "max_score", "weight", "score", "note",
)  # fmt: skip

_C = {name: i for i, name in enumerate(CALL_COLUMNS)}
_MS_FIELDS = tuple(_C[n] for n in ("created_date", "last_updated_date", "ms_time_start_to_answer"))
_S_FIELDS = tuple(
    _C[n] for n in ("time_start_call", "time_start_to_answer", "time_start_media", "time_end_call")
)
_JSON_FIELDS = (_C["create_by"], _C["internal_destination"])


def _plain(value: Any, json_field: bool) -> Any:
    if json_field:
        return (
            None if value is None or not isinstance(value, dict) else orjson.dumps(value).decode()
        )
    return value


@dataclass
class Template:
    """One demo call as tuples in COPY column order."""

    call: list[Any]
    users: list[list[Any]]
    tags: list[list[Any]]
    answered: bool


@dataclass
class TenantPlan:
    name: str
    calls: int
    tenant_id: str = ""
    pool: list[Template] = field(default_factory=list)
    agents: list[directory.Agent] = field(default_factory=list)
    criteria: list[tuple[str, str, int, float]] = field(default_factory=list)  # id, name, max, w


def _template(rows: CallRows) -> Template:
    call = [_plain(rows.call.get(name), i in _JSON_FIELDS) for i, name in enumerate(CALL_COLUMNS)]
    # server defaults the demo leaves out (COPY does not apply them to listed columns)
    for name, default in (("is_auto_call", False), ("is_voicemail", False)):
        if call[_C[name]] is None:
            call[_C[name]] = default
    for name in ("is_have_forward_out", "is_missed_call"):
        call[_C[name]] = bool(call[_C[name]])
    users = [[u[name] for name in USER_COLUMNS] for u in rows.users]
    tags = [[t[name] for name in TAG_COLUMNS] for t in rows.tags]
    return Template(call, users, tags, rows.call["disposition"] == "answered")


def plan(total: int, seed: int) -> list[TenantPlan]:
    """Half the calls to the big tenant, the rest over 19 tenants, larger ones first."""
    rng = random.Random(seed)
    big = total // 2
    weights = [1 / (i + 1) ** 0.7 for i in range(N_TENANTS - 1)]
    shares = [int((total - big) * w / sum(weights)) for w in weights]
    shares[0] += total - big - sum(shares)
    plans = [TenantPlan(BIG_TENANT, big)]
    plans += [TenantPlan(f"bench-{i + 2:02d}", n) for i, n in enumerate(shares)]
    rng.shuffle(plans[1:])
    return plans


class Generator:
    """Rows per week for every tenant, from each tenant's pool of demo calls."""

    def __init__(self, plans: Sequence[TenantPlan], seed: int) -> None:
        self.plans, self.rng = plans, random.Random(seed)
        self.now = now_ms() - 3_600_000  # an hour back: every pool call has ended

    def week(
        self, week: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
        """Week 0 is the oldest; the last week ends now."""
        rng = self.rng
        shift_ms = -(WEEKS - 1 - week) * WEEK_MS
        shift_s = shift_ms // 1000
        calls: list[tuple[Any, ...]] = []
        users: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        evals: list[Any] = []
        getrandbits, choice, rand = rng.getrandbits, rng.choice, rng.random
        for p in self.plans:
            n = p.calls // WEEKS + (1 if week < p.calls % WEEKS else 0)
            for _ in range(n):
                t = choice(p.pool)
                h = f"{getrandbits(128):032x}"
                tid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
                row = t.call.copy()
                row[1] = tid
                row[2] = f"{getrandbits(96):024x}"
                for i in _MS_FIELDS:
                    row[i] += shift_ms
                for i in _S_FIELDS:
                    row[i] += shift_s
                created = row[3]
                calls.append(tuple(row))
                for u in t.users:
                    ur = u.copy()
                    ur[1], ur[3] = tid, created
                    if ur[11] is not None:
                        ur[11] += shift_ms
                    users.append(tuple(ur))
                for g in t.tags:
                    gr = g.copy()
                    gr[1], gr[5] = tid, created
                    tags.append(tuple(gr))
                if t.answered and t.users and rand() < EVALUATED_SHARE:
                    evals.append((p, tid, created, row[4]))
        return calls, users, tags, evals

    def evaluations(self, evals: list[Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng = self.rng
        rows: list[tuple[Any, ...]] = []
        scores: list[tuple[Any, ...]] = []
        for p, tid, created, updated in evals:
            boss = rng.choice(p.agents)
            eid = new_id()
            total_weight, weighted = 0.0, 0.0
            for position, (cid, name, max_score, weight) in enumerate(p.criteria):
                score = float(rng.randint(max_score // 2, max_score))
                weighted += weight * score / max_score
                total_weight += weight
                scores.append(
                    (p.tenant_id, tid, eid, cid, position, name, max_score, weight, score, None)
                )
            at = updated + rng.randint(60_000, 3 * 86_400_000)
            rows.append(
                (p.tenant_id, tid, eid, created, boss.id, boss.full_name, boss.email,
                 boss.user_uuid, boss.sip_user, None, round(100 * weighted / total_weight, 2),
                 at, at)
            )  # fmt: skip
        return rows, scores


def _secondary_indexes(table: Table) -> list[Index]:
    return sorted(table.indexes, key=lambda ix: str(ix.name))


async def _prepare_tenants(url: str, plans: list[TenantPlan], seed: int) -> None:
    """The tenants, their directories and criteria (ordinary inserts), and the call pools."""
    rng = random.Random(seed)
    engine = create_engine(url)
    try:
        await migrate(engine)
        created = now_ms()
        async with writing(engine) as conn:
            for p in plans:
                tenant = await keys.create_tenant(conn, p.name, TIME_ZONE)
                p.tenant_id = tenant.id
                people = directory.build(rng, p.name, p.calls)
                for table, rows in directory.rows(people, tenant.id, created):
                    for i in range(0, len(rows), 2000):
                        await conn.execute(table.insert(), rows[i : i + 2000])
                p.agents = people.agents
                for position, (name, max_score, weight) in enumerate(CRITERIA):
                    cid = new_id()
                    p.criteria.append((cid, name, max_score, weight))
                    await conn.execute(
                        schema.evaluation_criteria.insert().values(
                            tenant_id=tenant.id, id=cid, name=name, max_score=max_score,
                            weight=weight, position=position, created_at=created,
                            updated_at=created,
                        )
                    )  # fmt: skip
                maker = CallMaker(
                    rng, people, tenant.id, WeekClock(now_ms() - 3_600_000, TIME_ZONE)
                )
                size = POOL_BIG if p.name == BIG_TENANT else POOL_SMALL
                p.pool = [_template(maker.make()) for _ in range(min(size, max(p.calls, 1)))]
    finally:
        await engine.dispose()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


async def _load_postgres(url: str, gen: Generator, total: int, console: Console) -> None:
    tenant_ids = [p.tenant_id for p in gen.plans]
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK checks, no triggers
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        indexes = [ix for table in (*_LOADED, *_LOADED_EVALS) for ix in _secondary_indexes(table)]
        for ix in indexes:
            await conn.execute(f'DROP INDEX IF EXISTS "{ix.name}"')
        began = time.perf_counter()
        done = 0
        with _progress(console) as bar:
            task = bar.add_task("calls (COPY)", total=total, rate="")
            for week in range(WEEKS):
                calls, users, tags, evals = gen.week(week)
                ev, sc = gen.evaluations(evals)
                async with conn.transaction():
                    await conn.copy_records_to_table("calls", records=calls, columns=CALL_COLUMNS)
                    await conn.copy_records_to_table(
                        "call_users", records=users, columns=USER_COLUMNS
                    )
                    await conn.copy_records_to_table("call_tags", records=tags, columns=TAG_COLUMNS)
                    await conn.copy_records_to_table(
                        "call_evaluations", records=ev, columns=EVAL_COLUMNS
                    )
                    await conn.copy_records_to_table(
                        "call_evaluation_scores", records=sc, columns=SCORE_COLUMNS
                    )
                done += len(calls)
                rate = f"{done / (time.perf_counter() - began):,.0f} calls/s"
                bar.update(task, advance=len(calls), rate=rate)
            await conn.execute("SET maintenance_work_mem = '1GB'")
            await conn.execute("SET max_parallel_maintenance_workers = 2")
            itask = bar.add_task("indexes", total=len(indexes) + 1, rate="")
            for ix in indexes:
                bar.update(itask, rate=str(ix.name))
                await conn.execute(str(CreateIndex(ix).compile(dialect=dialect)))
                bar.advance(itask)
            bar.update(itask, rate="call_changes, totals, rollups")  # the triggers were off
            sources = await derived.postgres_sources(conn)
            await derived.rebuild_postgres(conn, tenant_ids, sources)
            bar.update(itask, rate="ANALYZE")
            for table in _VACUUMED:
                await conn.execute(f"VACUUM ANALYZE {table}")
            bar.advance(itask)
        console.print(await derived.check_postgres(conn, tenant_ids, sources))
    finally:
        await conn.close()


def _load_sqlite(url: str, gen: Generator, total: int, console: Console) -> None:
    """executemany, one transaction per week, indexes and triggers off meanwhile.

    For the load only: WAL, synchronous=OFF (a crash mid-load loses the load, never a
    real write), foreign keys off (the rows are made valid), a 256 MB cache; then the
    application's settings back (synchronous=FULL, foreign keys on), no ANALYZE (as in
    production), a checkpoint that leaves the whole database in its file (an empty WAL:
    Datasette's immutable mode and any copy see everything) and the derived tables
    checked. The indexes and triggers dropped and made again are the ones the
    migrations made, from their own SQL.
    """
    path = make_url(url).database
    assert path, "sqlite URL needs a file path"
    tenant_ids = [p.tenant_id for p in gen.plans]
    db = sqlite3.connect(path, isolation_level=None)
    phases: dict[str, float] = {}
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("PRAGMA cache_size=-262144")
        db.execute("PRAGMA temp_store=MEMORY")
        loaded = [t.name for t in (*_LOADED, *_LOADED_EVALS)]
        triggers = derived.sqlite_triggers(db, loaded)
        for name, _, _ in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        sources = [sql for _, table, sql in triggers if table == "calls"]
        marks = ", ".join("?" * len(loaded))
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY tbl_name, name",
            loaded,
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')

        def insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
            marks = ", ".join("?" * len(columns))
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

        began = mark = time.perf_counter()
        done = 0

        def phase(name: str) -> None:
            nonlocal mark
            phases[name] = time.perf_counter() - mark
            mark = time.perf_counter()

        with _progress(console) as bar:
            task = bar.add_task("calls (INSERT)", total=total, rate="")
            for week in range(WEEKS):
                calls, users, tags, evals = gen.week(week)
                ev, sc = gen.evaluations(evals)
                db.execute("BEGIN")
                insert("calls", CALL_COLUMNS, calls)
                insert("call_users", USER_COLUMNS, users)
                insert("call_tags", TAG_COLUMNS, tags)
                insert("call_evaluations", EVAL_COLUMNS, ev)
                insert("call_evaluation_scores", SCORE_COLUMNS, sc)
                db.execute("COMMIT")
                done += len(calls)
                rate = f"{done / (time.perf_counter() - began):,.0f} calls/s"
                bar.update(task, advance=len(calls), rate=rate)
            phase("insert")
            itask = bar.add_task("indexes", total=len(indexes) + 3, rate="")
            for name, sql in indexes:
                bar.update(itask, rate=name)
                db.execute(sql)
                bar.advance(itask)
            phase("indexes")
            bar.update(itask, rate="call_changes, totals, rollups")  # the triggers were off
            derived.rebuild_sqlite(db, tenant_ids, sources)
            for _, _, sql in triggers:
                db.execute(sql)
            bar.advance(itask)
            phase("derived")
            # No ANALYZE: callhistory never runs it on SQLite, so the planner sees what it
            # sees in a file filled by ingest (no sqlite_stat1). With statistics it counts
            # a window through ix_calls_window plus a row read per call, not through the
            # covering partial ix_calls_live (docs/performance.md).
            bar.advance(itask)
            bar.update(itask, rate="checkpoint")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            bar.advance(itask)
            phase("checkpoint")
        console.print(derived.check_sqlite(db, tenant_ids, sources))
        phase("check")
        console.print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
    finally:
        db.close()


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() in ("postgresql", "postgres")


async def create_database(url: str | None, admin_url: str = ADMIN_URL) -> str:
    """The database URL to load into, created on the server when missing."""
    if url is None:
        url = f"{admin_url.rsplit('/', 1)[0]}/callhistory_bench_{secrets.token_hex(4)}"
    if not is_postgres(url):
        return url
    name = make_url(url).database
    admin = await asyncpg.connect(
        make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url


async def drop_database(url: str) -> None:
    if not is_postgres(url):
        path = make_url(url).database
        if path:
            for suffix in ("", "-wal", "-shm"):
                with __import__("contextlib").suppress(FileNotFoundError):
                    __import__("os").remove(path + suffix)
        return
    name = make_url(url).database
    admin = await asyncpg.connect(
        make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def load(url: str, total: int, seed: int = 1, console: Console | None = None) -> None:
    """Migrate `url` (which must exist) and fill it with `total` calls."""
    console = console or Console(stderr=True)
    plans = plan(total, seed)
    began = time.perf_counter()
    console.print(f"[bold]{total:,}[/] calls into {make_url(url).render_as_string()}")
    await _prepare_tenants(url, plans, seed)
    console.print(
        f"tenants, directories and call pools ready in {time.perf_counter() - began:.1f} s"
    )
    gen = Generator(plans, seed)
    if is_postgres(url):
        await _load_postgres(url, gen, total, console)
    else:
        await asyncio.to_thread(_load_sqlite, url, gen, total, console)
    console.print(f"loaded in {time.perf_counter() - began:.1f} s")


def iter_plans(total: int) -> Iterator[tuple[str, int]]:
    for p in plan(total, 1):
        yield p.name, p.calls


async def _main(args: argparse.Namespace) -> None:
    url = await create_database(args.database, args.admin_url)
    try:
        await load(url, args.calls, args.seed)
    finally:
        if not args.keep:
            await drop_database(url)
            Console(stderr=True).print(f"dropped {url} (use --keep to keep it)")
        else:
            print(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--database", help="postgresql://… or sqlite:///…; default: a fresh one")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where a fresh database is made")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
