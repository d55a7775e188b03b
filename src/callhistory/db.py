"""Engines for SQLite (embedded default) and PostgreSQL, and running migrations."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Boolean, ColumnElement, Float, Text, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def async_url(url: str) -> str:
    """Map the user's URL onto the async driver: sqlite -> aiosqlite, postgresql -> asyncpg."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for the write lock


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; FULL sync makes an acknowledged commit durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns through orjson: the standard library's json is several times slower, and a
# page of calls decodes two JSON values per call.
_JSON = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


# Prepared statements planned for their values every time: after five runs PostgreSQL
# may keep one generic plan, blind to which tenant, agent or window it serves (at 10 M
# calls a search by agent went from 20 ms to 230 ms that way). Planning costs ~1 ms.
# It applies to the foreign-key checks PostgreSQL runs for each inserted row too (28 µs
# a row against 8 with generic plans), and that stays so: letting the inserts keep
# generic plans froze, on a young table whose statistics still said empty, a check
# that scanned the whole table (batches slowed tenfold as the table grew, 2026-12-07).
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


def create_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    """The engine; on PostgreSQL a pool of `pool_size` connections kept open. No overflow:
    a connection opened for a burst and closed after costs the server a process start and
    the driver its set-up queries, again and again under a steady load above the pool;
    requests beyond the pool wait for a connection instead (503 after 30 s)."""
    target = async_url(url)
    if target.startswith("sqlite"):
        engine = create_async_engine(target, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # LIFO: the connection used last is used next, so a load below the pool's size keeps
    # a few connections busy and the rest idle. Each connection keeps its own prepared
    # statements (up to 100); round-robin over all twenty prepared every query shape on
    # every connection, missing the cache twenty times as often.
    return create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_use_lifo=True,
        connect_args={"server_settings": SERVER_SETTINGS},
        **_JSON,
    )


class Among(ColumnElement[bool]):
    """`column IN values`, as `column = ANY(:array)` on PostgreSQL: one parameter whatever
    the number of values, so one statement text, one prepared statement per connection
    and one cached plan. An IN list is a new text for every length (each kept in every
    pooled connection's statement cache: memory that grows with the mix of requests)
    and renders a cast per element on every call."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no `= 1` added on SQLite
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration is a list)
        ("as_in", InternalTraversal.dp_clauseelement),
        ("as_any", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], values: Sequence[Any]) -> None:
        values = list(values)
        self.as_in = column.in_(values)
        self.as_any = column == any_(bindparam(None, values, type_=ARRAY(column.type)))


@compiles(Among)
def _among_as_in(element: Among, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.as_in, **kw))


@compiles(Among, "postgresql")
def _among_as_any(element: Among, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.as_any, **kw))


def among(column: ColumnElement[Any], values: Sequence[Any]) -> Among:
    """`column IN values`, written for the dialect it runs on (see `Among`)."""
    return Among(column, values)


class AmongParameter(Among):
    """`among` whose values are the parameter `name`, given when it runs: for a statement
    built once, whose building would otherwise cost more than running it."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.as_in = column.in_(bindparam(name, expanding=True))
        self.as_any = column == any_(bindparam(name, type_=ARRAY(column.type)))


class json_rows(FunctionElement[str]):
    """An aggregate: each row's arguments as a JSON array, all the rows as one array of
    them, as text (NULL on PostgreSQL for no rows, `[]` on SQLite). Reading a call's
    agents, tags and evaluations this way costs one statement instead of one each."""

    type = Text()
    name = "json_rows"
    inherit_cache = True


@compiles(json_rows)
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


class exact_float(FunctionElement[float]):
    """A float for `json_rows` that reads back as the same float: SQLite's JSON writes
    15 significant digits (66.66666666666667 comes back 66.6666666666667), so there it is
    written with 17, as text (float() it); PostgreSQL's JSON is exact already."""

    type = Float()
    name = "exact_float"
    inherit_cache = True


@compiles(exact_float)
def _exact_float_sqlite(element: exact_float, compiler: Any, **kw: Any) -> str:
    return f"printf('%!.17g', {compiler.process(element.clauses, **kw)})"


@compiles(exact_float, "postgresql")
def _as_it_is(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    """PostgreSQL's rendering of exact_float and unindexed: the argument itself."""
    return str(compiler.process(element.clauses, **kw))


class unindexed(FunctionElement[Any]):
    """The column's value, that SQLite must not read through an index (`+column`).

    callhistory never runs ANALYZE on SQLite, so its planner guesses: given a range on
    an indexed column, it scans that range once per row of the outer side of a join
    instead of looking each row up by its key. PostgreSQL plans from statistics and
    gets the column as it is."""

    name = "unindexed"
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


compiles(unindexed, "postgresql")(_as_it_is)


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))


@functools.cache
def head_revision() -> str | None:
    """The newest migration this code ships (read once: it cannot change at run time)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def new_id() -> str:
    """A 24-hex id, the shape of the source platform's `_id`s."""
    return secrets.token_hex(12)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction that reads what it will write safely.

    SQLite: BEGIN IMMEDIATE takes the write lock up front, so a read-then-write never
    meets a snapshot that another writer has moved on from (SQLITE_BUSY_SNAPSHOT).
    PostgreSQL: an ordinary transaction; callers lock the rows they merge into.
    """
    sqlite = is_sqlite(engine)
    async with _writer_turn(engine) if sqlite else nullcontext(), engine.connect() as conn:
        if sqlite:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()


# SQLite has one writer at a time, and its busy handler makes the others poll with
# growing sleeps (up to 100 ms each), the likely cause of a 2.7 s p95 under 16 concurrent
# changes of ~10 ms each. A process's writers queue here instead, in arrival order; only
# the other processes' writers meet the busy handler.
_WRITER_TURNS: weakref.WeakKeyDictionary[Any, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    held = _WRITER_TURNS.get(engine.sync_engine)
    if held is None or held[0] is not loop:  # a lock serves the loop it was made in
        held = (loop, asyncio.Lock())
        _WRITER_TURNS[engine.sync_engine] = held
    lock = held[1]
    # bounded: a writer that waits on another of its own (a bug, but one SQLite would end
    # with `database is locked` after its busy timeout) is not hung forever
    try:
        await asyncio.wait_for(lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
        acquired = True
    except TimeoutError:
        acquired = False
    try:
        yield
    finally:
        if acquired:
            lock.release()
