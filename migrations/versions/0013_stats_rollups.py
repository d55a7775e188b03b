"""hourly rollups of each agent's and each queue's calls, kept exact by triggers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:00:00.000000

- agent_hour_totals: per tenant, UTC hour and agent on the call (email, sip_user; ''
  for none): calls, inbound, outbound, answered (by them: listed first on an answered
  call), missed, talk_sec, handle_sec, wait_sec, as GET /api/stats/agents defines them
  (docs/stats.md); full_name and user_uuid are labels, as last written.
- queue_hour_totals: the same per queue (a call's queue_destination), answered meaning
  the call was.

Both stores keep them in the writer's transaction: PostgreSQL with statement-level
triggers on calls and call_users (transition tables: one grouped upsert per statement),
SQLite with row triggers. A call row deleted outright first deletes its agents (a
BEFORE DELETE trigger): the cascade would otherwise remove them after the call, when
neither side can still say what the pair counted.
"""

# ruff: noqa: S608 - every statement here is built from the constants above
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.String(length=24)
HOUR = 3_600_000
MEASURES = (
    "calls", "inbound", "outbound", "answered", "missed", "talk_sec", "handle_sec", "wait_sec",
)  # fmt: skip
_AGENT_KEY = ("tenant_id", "hour", "email", "sip_user")
_QUEUE_KEY = ("tenant_id", "hour", "queue")
# Columns of calls whose change moves a call's contribution (SQLite's UPDATE OF).
_CALL_COLUMNS = (
    "created_date", "direction", "disposition", "bill_sec", "hold_call_sec", "wait_sec",
    "queue_destination", "is_deleted",
)  # fmt: skip
_USER_COLUMNS = ("transaction_id", "position", "email", "sip_user", "full_name", "user_uuid")


def _values(c: str, handled: str, sign: str) -> list[str]:
    """Each measure of one call row `c` (times `sign`), `handled` saying it was answered."""
    inbound = f"{c}.direction = 'inbound'"

    def when(condition: str, value: str = "1") -> str:
        return f"{sign} * CASE WHEN {condition} THEN {value} ELSE 0 END"

    values = [
        sign,
        when(inbound),
        when(f"{c}.direction = 'outbound'"),
        when(handled),
        when(f"{inbound} AND NOT ({handled})"),
        when(handled, f"{c}.bill_sec"),
        when(handled, f"{c}.bill_sec + {c}.hold_call_sec"),
        when(inbound, f"{c}.wait_sec"),
    ]
    return [f"{v} AS {m}" for v, m in zip(values, MEASURES, strict=True)]


def _agent_select(c: str, u: str, sign: str) -> str:
    handled = f"{c}.disposition = 'answered' AND {u}.position = 0"
    return ", ".join(
        [
            f"{c}.tenant_id AS tenant_id",
            f"{c}.created_date - {c}.created_date % {HOUR} AS hour",
            f"coalesce({u}.email, '') AS email",
            f"coalesce({u}.sip_user, '') AS sip_user",
            f"{u}.full_name AS full_name",
            f"{u}.user_uuid AS user_uuid",
            *_values(c, handled, sign),
        ]
    )


def _queue_select(c: str, sign: str) -> str:
    return ", ".join(
        [
            f"{c}.tenant_id AS tenant_id",
            f"{c}.created_date - {c}.created_date % {HOUR} AS hour",
            f"{c}.queue_destination AS queue",
            *_values(c, f"{c}.disposition = 'answered'", sign),
        ]
    )


def _set(table: str, labels: bool) -> str:
    sums = [f"{m} = {table}.{m} + excluded.{m}" for m in MEASURES]
    if labels:  # the name as last written by a row that counts
        sums += [
            f"{n} = CASE WHEN excluded.calls > 0 THEN excluded.{n} ELSE {table}.{n} END"
            for n in ("full_name", "user_uuid")
        ]
    return ", ".join(sums)


def _columns(key: tuple[str, ...], labels: bool) -> list[str]:
    return [*key, *(("full_name", "user_uuid") if labels else ()), *MEASURES]


# --- PostgreSQL: one grouped upsert per statement ---------------------------------------------


def _pg_upsert(table: str, key: tuple[str, ...], labels: bool, rows: str) -> str:
    names = _columns(key, labels)
    by = ", ".join(key)
    picked = [*key, *(f"max({n})" for n in ("full_name", "user_uuid") if labels)]
    sums = [f"sum({m})" for m in MEASURES]
    changed = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)
    return (
        f"INSERT INTO {table} AS t ({', '.join(names)})\n"
        f"  SELECT {', '.join([*picked, *sums])} FROM ({rows}) AS d\n"
        f"  GROUP BY {by} HAVING {changed} ORDER BY {by}\n"
        f"  ON CONFLICT ({by}) DO UPDATE SET {_set('t', labels)};\n"
    )


def _pg_agents(calls_rows: str, users_rows: str, sign: str) -> str:
    return (
        f"SELECT {_agent_select('c', 'u', sign)} FROM {calls_rows} AS c JOIN {users_rows} AS u "
        "ON u.tenant_id = c.tenant_id AND u.transaction_id = c.transaction_id "
        "WHERE c.is_deleted IS false"
    )


def _pg_queues(calls_rows: str, sign: str) -> str:
    return (
        f"SELECT {_queue_select('c', sign)} FROM {calls_rows} AS c "
        "WHERE c.is_deleted IS false AND c.queue_destination IS NOT NULL"
    )


def _pg_union(*parts: str) -> str:
    return " UNION ALL ".join(parts)


_PG_CALLS = {  # event -> (REFERENCING, agents' rows or None, queues' rows)
    "insert": ("NEW TABLE AS new_rows", None, _pg_queues("new_rows", "1")),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _pg_union(
            _pg_agents("new_rows", "call_users", "1"), _pg_agents("old_rows", "call_users", "-1")
        ),
        _pg_union(_pg_queues("new_rows", "1"), _pg_queues("old_rows", "-1")),
    ),
    "delete": ("OLD TABLE AS old_rows", None, _pg_queues("old_rows", "-1")),
}
_PG_USERS = {
    "insert": ("NEW TABLE AS new_rows", _pg_agents("calls", "new_rows", "1")),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _pg_union(_pg_agents("calls", "new_rows", "1"), _pg_agents("calls", "old_rows", "-1")),
    ),
    "delete": ("OLD TABLE AS old_rows", _pg_agents("calls", "old_rows", "-1")),
}


def _pg_trigger(name: str, table: str, event: str, referencing: str, body: str) -> None:
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}  RETURN NULL;\nEND $$"
    )
    op.execute(
        f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} REFERENCING {referencing} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


def _postgres_upgrade() -> None:
    for event, (referencing, agents, queues) in _PG_CALLS.items():
        body = _pg_upsert("queue_hour_totals", _QUEUE_KEY, False, queues)
        if agents:
            body += _pg_upsert("agent_hour_totals", _AGENT_KEY, True, agents)
        _pg_trigger(f"stats_rollups_calls_{event}", "calls", event, referencing, body)
    for event, (referencing, agents) in _PG_USERS.items():
        body = _pg_upsert("agent_hour_totals", _AGENT_KEY, True, agents)
        _pg_trigger(f"stats_rollups_users_{event}", "call_users", event, referencing, body)
    op.execute(
        "CREATE FUNCTION calls_agents_first() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  DELETE FROM call_users WHERE tenant_id = OLD.tenant_id "
        "AND transaction_id = OLD.transaction_id;\n  RETURN OLD;\nEND $$"
    )
    op.execute(
        "CREATE TRIGGER calls_agents_first BEFORE DELETE ON calls "
        "FOR EACH ROW EXECUTE FUNCTION calls_agents_first()"
    )


def _postgres_downgrade() -> None:
    for table, prefix in (("calls", "stats_rollups_calls"), ("call_users", "stats_rollups_users")):
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {prefix}_{event}()")
    op.execute("DROP TRIGGER IF EXISTS calls_agents_first ON calls")
    op.execute("DROP FUNCTION IF EXISTS calls_agents_first()")


# --- SQLite: row triggers ---------------------------------------------------------------------


def _lite_upsert(table: str, key: tuple[str, ...], labels: bool, select: str) -> str:
    names = ", ".join(_columns(key, labels))
    return (
        f"  INSERT INTO {table} ({names}) {select}\n"
        f"  ON CONFLICT ({', '.join(key)}) DO UPDATE SET {_set(table, labels)};\n"
    )


def _lite_agents_of_call(c: str, sign: str) -> str:
    return _lite_upsert(
        "agent_hour_totals",
        _AGENT_KEY,
        True,
        f"SELECT {_agent_select(c, 'u', sign)} FROM call_users AS u "
        f"WHERE u.tenant_id = {c}.tenant_id AND u.transaction_id = {c}.transaction_id "
        f"AND {c}.is_deleted IS 0",
    )


def _lite_queue_of_call(c: str, sign: str) -> str:
    return _lite_upsert(
        "queue_hour_totals",
        _QUEUE_KEY,
        False,
        f"SELECT {_queue_select(c, sign)} WHERE {c}.is_deleted IS 0 "
        f"AND {c}.queue_destination IS NOT NULL",
    )


def _lite_call_of_agent(u: str, sign: str) -> str:
    return _lite_upsert(
        "agent_hour_totals",
        _AGENT_KEY,
        True,
        f"SELECT {_agent_select('c', u, sign)} FROM calls AS c "
        f"WHERE c.tenant_id = {u}.tenant_id AND c.transaction_id = {u}.transaction_id "
        "AND c.is_deleted IS 0",
    )


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


_LITE_TRIGGERS = {
    "stats_rollups_calls_insert": ("AFTER INSERT ON calls", _lite_queue_of_call("NEW", "1")),
    "stats_rollups_calls_update": (
        f"AFTER UPDATE OF {', '.join(_CALL_COLUMNS)} ON calls WHEN {_changed(_CALL_COLUMNS)}",
        _lite_queue_of_call("OLD", "-1")
        + _lite_queue_of_call("NEW", "1")
        + _lite_agents_of_call("OLD", "-1")
        + _lite_agents_of_call("NEW", "1"),
    ),
    "stats_rollups_calls_delete": ("AFTER DELETE ON calls", _lite_queue_of_call("OLD", "-1")),
    "calls_agents_first": (
        "BEFORE DELETE ON calls",
        "  DELETE FROM call_users WHERE tenant_id = OLD.tenant_id "
        "AND transaction_id = OLD.transaction_id;\n",
    ),
    "stats_rollups_users_insert": ("AFTER INSERT ON call_users", _lite_call_of_agent("NEW", "1")),
    "stats_rollups_users_update": (
        f"AFTER UPDATE OF {', '.join(_USER_COLUMNS)} ON call_users WHEN {_changed(_USER_COLUMNS)}",
        _lite_call_of_agent("OLD", "-1") + _lite_call_of_agent("NEW", "1"),
    ),
    "stats_rollups_users_delete": ("AFTER DELETE ON call_users", _lite_call_of_agent("OLD", "-1")),
}


# --- both -------------------------------------------------------------------------------------


def _measure_columns() -> list[sa.Column[int]]:
    return [sa.Column(m, sa.BigInteger(), nullable=False) for m in MEASURES]


_BACKFILL_AGENTS = f"""
INSERT INTO agent_hour_totals ({", ".join(_columns(_AGENT_KEY, True))})
SELECT tenant_id, hour, email, sip_user, max(full_name), max(user_uuid),
       {", ".join(f"sum({m})" for m in MEASURES)}
FROM (SELECT {_agent_select("c", "u", "1")} FROM calls AS c JOIN call_users AS u
      ON u.tenant_id = c.tenant_id AND u.transaction_id = c.transaction_id
      WHERE c.is_deleted IS {{false}})
  AS d
GROUP BY tenant_id, hour, email, sip_user
"""
_BACKFILL_QUEUES = f"""
INSERT INTO queue_hour_totals ({", ".join(_columns(_QUEUE_KEY, False))})
SELECT tenant_id, hour, queue, {", ".join(f"sum({m})" for m in MEASURES)}
FROM (SELECT {_queue_select("c", "1")} FROM calls AS c
      WHERE c.is_deleted IS {{false}} AND c.queue_destination IS NOT NULL)
  AS d
GROUP BY tenant_id, hour, queue
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "agent_hour_totals",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sip_user", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("user_uuid", sa.String(length=100)),
        *_measure_columns(),
        sa.PrimaryKeyConstraint(*_AGENT_KEY, name=op.f("pk_agent_hour_totals")),
    )
    op.create_table(
        "queue_hour_totals",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        *_measure_columns(),
        sa.PrimaryKeyConstraint(*_QUEUE_KEY, name=op.f("pk_queue_hour_totals")),
    )
    false = "false" if postgres else "0"
    op.execute(_BACKFILL_AGENTS.format(false=false))
    op.execute(_BACKFILL_QUEUES.format(false=false))
    if postgres:
        _postgres_upgrade()
        return
    for name, (when, body) in _LITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when}\nBEGIN\n{body}END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres_downgrade()
    else:
        for name in _LITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("queue_hour_totals")
    op.drop_table("agent_hour_totals")
