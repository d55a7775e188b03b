"""the rollup triggers that join a table plan their join each time they fire (PostgreSQL)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:00:00.000000

The agents' hourly rollups (0013) join the rows a statement wrote (a transition table)
to the other side of the pair: call_users' triggers to calls, calls' update trigger to
call_users. A PL/pgSQL statement without parameters is planned once per connection and
kept, whatever `plan_cache_mode` says, until the table's statistics change. Planned
when `calls` was a page or two (a young database, the first post of a pooled
connection), the join was a nested loop scanning all of calls once per row written, and
stayed so until autovacuum next analysed the table: batches of 1,000 calls went from
0.2 s to 1.8–3.2 s, 213–1,900 calls/s instead of ~5,000 (bench.ingest, 2026-12-07).
EXECUTE plans the statement each time, knowing how many rows were written and how big
the table is now: ~0.2 ms a firing, against seconds.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _rollups() -> ModuleType:
    """Migration 0013, whose statement builders these functions are made from."""
    path = Path(__file__).with_name("0013_stats_rollups.py")
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _joined_functions(r: ModuleType) -> dict[str, list[str]]:
    """The functions whose statements join a table, with those statements (0013's)."""
    upsert = r._pg_upsert
    functions = {
        f"stats_rollups_users_{event}": [upsert("agent_hour_totals", r._AGENT_KEY, True, rows)]
        for event, (_, rows) in r._PG_USERS.items()
    }
    _, calls_agents, calls_queues = r._PG_CALLS["update"]
    functions["stats_rollups_calls_update"] = [
        upsert("queue_hour_totals", r._QUEUE_KEY, False, calls_queues),
        upsert("agent_hour_totals", r._AGENT_KEY, True, calls_agents),
    ]
    return functions


def _replace(name: str, body: str) -> None:
    op.execute(
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}  RETURN NULL;\nEND $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, statements in _joined_functions(_rollups()).items():
        body = "".join(
            f"  EXECUTE $sql$\n{statement.rstrip().removesuffix(';')}\n  $sql$;\n"
            for statement in statements
        )
        _replace(name, body)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, statements in _joined_functions(_rollups()).items():
        _replace(name, "".join(statements))
