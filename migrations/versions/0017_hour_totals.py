"""per-hour totals of every equality filter, on both stores, in place of 0006's per-day ones

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:00:00.000000

call_hour_totals: live calls (and their summed bill_sec) per tenant, UTC hour and
(direction, disposition, is_auto_call); once in all (dimension '', value '') and once
more under each of the call's hotline, queue_destination and sip_user it has (dimension
the column, value the call's). A window's count, with no filter or any of direction,
disposition, is_auto_call and one of the other three, sums its whole hours here and
counts only what lies outside them (at most an hour at each end) in calls.

call_day_totals (0006) kept one row per day and combination of all six filters: its
edges were up to a day of rows each, 1.5 M rows at 10 M calls, and PostgreSQL only. It
is dropped, with its triggers.

Kept exact in the writer's transaction, as 0013's rollups: PostgreSQL with
statement-level triggers on calls (transition tables: one grouped upsert per statement),
SQLite with row triggers. The triggers are named so that PostgreSQL, firing a table's
triggers in name order, takes these rows before the stats rollups' (stats_rollups_*),
as call_day_totals_* did: writers lock them first in that order (calls.totals.lock_groups).
"""

# ruff: noqa: S608 - every statement here is built from the constants below
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.String(length=24)
HOUR = 3_600_000
_KEY = "tenant_id, dimension, value, hour, direction, disposition, is_auto_call"
_DIMENSIONS = ("hotline", "queue_destination", "sip_user")
# Columns of calls whose change moves a call's contribution (SQLite's UPDATE OF).
_CALL_COLUMNS = (
    "created_date", "direction", "disposition", "is_auto_call", "bill_sec", "is_deleted",
    *_DIMENSIONS,
)  # fmt: skip


def _contributions(c: str, sign: str, false: str, source: str = "") -> str:
    """What the live row `c` adds to the totals (times `sign`): one row in all, one per
    dimension it has a value of. `source` names where `c` comes from, if anywhere."""
    common = (
        f"{c}.created_date - {c}.created_date % {HOUR} AS hour, {c}.direction AS direction, "
        f"{c}.disposition AS disposition, {c}.is_auto_call AS is_auto_call, {sign} AS n, "
        f"{sign} * {c}.bill_sec AS b"
    )  # named here, for the union (SQLite takes no column list after a subquery's alias)
    live = f"{source} WHERE {c}.is_deleted IS {false}"
    parts = [f"SELECT {c}.tenant_id AS tenant_id, '' AS dimension, '' AS value, {common}{live}"]
    parts += [
        f"SELECT {c}.tenant_id, '{d}', {c}.{d}, {common}{live} AND {c}.{d} IS NOT NULL"
        for d in _DIMENSIONS
    ]
    return " UNION ALL ".join(parts)


# --- PostgreSQL: one grouped upsert per statement ---------------------------------------------

_PG_UPSERT = f"""
  INSERT INTO call_hour_totals AS t ({_KEY}, calls, bill_sec)
  SELECT {_KEY}, sum(n), sum(b) FROM (
    {{rows}}
  ) AS d
  GROUP BY {_KEY} HAVING sum(n) <> 0 OR sum(b) <> 0 ORDER BY {_KEY}
  ON CONFLICT ({_KEY}) DO UPDATE
  SET calls = t.calls + excluded.calls, bill_sec = t.bill_sec + excluded.bill_sec;
"""


def _pg_rows(table: str, sign: str) -> str:
    # FROM the transition table, one contribution per dimension through LATERAL
    return (
        "SELECT c.tenant_id, x.dimension, x.value, c.created_date - c.created_date % "
        f"{HOUR} AS hour, c.direction, c.disposition, c.is_auto_call, {sign} AS n, "
        f"{sign} * c.bill_sec AS b "
        f"FROM {table} AS c CROSS JOIN LATERAL (VALUES ('', ''), "
        + ", ".join(f"('{d}', c.{d})" for d in _DIMENSIONS)
        + ") AS x (dimension, value) WHERE c.is_deleted IS false AND x.value IS NOT NULL"
    )


_PG_ROWS = {
    "insert": ("NEW TABLE AS new_rows", _pg_rows("new_rows", "1")),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"{_pg_rows('new_rows', '1')} UNION ALL {_pg_rows('old_rows', '-1')}",
    ),
    "delete": ("OLD TABLE AS old_rows", _pg_rows("old_rows", "-1")),
}

# --- SQLite: row triggers ---------------------------------------------------------------------


def _lite_upsert(c: str, sign: str) -> str:
    return (
        f"  INSERT INTO call_hour_totals ({_KEY}, calls, bill_sec)\n"
        f"  SELECT * FROM ({_contributions(c, sign, '0')}) WHERE true\n"
        f"  ON CONFLICT ({_KEY}) DO UPDATE SET calls = calls + excluded.calls, "
        "bill_sec = bill_sec + excluded.bill_sec;\n"
    )


_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _CALL_COLUMNS)
_LITE_TRIGGERS = {
    "call_hour_totals_insert": ("AFTER INSERT ON calls", _lite_upsert("NEW", "1")),
    "call_hour_totals_update": (
        f"AFTER UPDATE OF {', '.join(_CALL_COLUMNS)} ON calls WHEN {_CHANGED}",
        _lite_upsert("OLD", "-1") + _lite_upsert("NEW", "1"),
    ),
    "call_hour_totals_delete": ("AFTER DELETE ON calls", _lite_upsert("OLD", "-1")),
}

# --- both -------------------------------------------------------------------------------------


def _backfill(false: str) -> str:
    rows = _contributions("c", "1", false, " FROM calls AS c")
    return (
        f"INSERT INTO call_hour_totals ({_KEY}, calls, bill_sec)\n"
        f"SELECT {_KEY}, sum(n), sum(b) FROM ({rows}) AS d\nGROUP BY {_KEY}"
    )


def _day_totals() -> ModuleType:
    """Migration 0006, whose statements a downgrade runs again."""
    path = Path(__file__).with_name("0006_performance.py")
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_day_totals(postgres: bool) -> None:
    if postgres:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS call_day_totals_{event} ON calls")
            op.execute(f"DROP FUNCTION IF EXISTS call_day_totals_{event}()")
    op.drop_table("call_day_totals")


def _restore_day_totals(postgres: bool) -> None:
    old = _day_totals()
    op.create_table(
        "call_day_totals",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        *(sa.Column(n, sa.String(length=16), nullable=False) for n in ("direction", "disposition")),
        sa.Column("is_auto_call", sa.Boolean(), nullable=False),
        *(sa.Column(n, sa.String(length=32), nullable=False) for n in _DIMENSIONS),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("bill_sec", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*old._KEY.split(", "), name=op.f("pk_call_day_totals")),
    )
    if not postgres:
        return
    op.execute(old._BACKFILL)
    for name, rows in old._ROWS.items():
        op.execute(
            f"CREATE FUNCTION call_day_totals_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{old._UPSERT.format(rows=rows)}  RETURN NULL;\nEND $$"
        )
        op.execute(
            f"CREATE TRIGGER call_day_totals_{name} AFTER {name.upper()} ON calls "
            f"REFERENCING {old._REFERENCING[name]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION call_day_totals_{name}()"
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_day_totals(postgres)
    op.create_table(
        "call_hour_totals",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("dimension", sa.String(length=24), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("is_auto_call", sa.Boolean(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("bill_sec", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY.split(", "), name=op.f("pk_call_hour_totals")),
    )
    op.execute(_backfill("false" if postgres else "0"))
    if not postgres:
        for name, (when, body) in _LITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when}\nBEGIN\n{body}END")
        return
    for event, (referencing, rows) in _PG_ROWS.items():
        name = f"call_hour_totals_{event}"
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{_PG_UPSERT.format(rows=rows)}  RETURN NULL;\nEND $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON calls REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    """Back to 0006's per-day totals (PostgreSQL's triggers made again by running its
    upgrade's statements; SQLite's table stays empty, as 0006 left it)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for event in _PG_ROWS:
            op.execute(f"DROP TRIGGER IF EXISTS call_hour_totals_{event} ON calls")
            op.execute(f"DROP FUNCTION IF EXISTS call_hour_totals_{event}()")
    else:
        for name in _LITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("call_hour_totals")
    _restore_day_totals(postgres)
