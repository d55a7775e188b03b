"""performance at call-center scale: ix_calls_live, keyword trigrams, per-day totals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000

- ix_calls_live: the live calls of a tenant in list order, with every equality filter
  (INCLUDE on PostgreSQL), so counts and deep pages read the index only.
- ix_calls_search_trgm (PostgreSQL): keyword search through trigrams, tenant first
  (pg_trgm + btree_gin). SQLite keeps scanning the window.
- call_day_totals: live calls per tenant, UTC day and equality filter, kept exact by
  statement-level triggers on calls (transition tables: one grouped upsert per statement,
  whatever its size). PostgreSQL only; the SQLite table stays empty and unused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.String(length=24)
_KEY = "tenant_id, day, direction, disposition, is_auto_call, hotline, queue_destination, sip_user"
_DIMS = (
    "tenant_id, created_date - created_date % 86400000, direction, disposition, is_auto_call, "
    "coalesce(hotline, ''), coalesce(queue_destination, ''), coalesce(sip_user, '')"
)
_UPSERT = f"""
  INSERT INTO call_day_totals AS t ({_KEY}, calls, bill_sec)
  SELECT {_KEY}, sum(n), sum(b) FROM (
    {{rows}}
  ) AS d ({_KEY}, n, b)
  GROUP BY {_KEY} HAVING sum(n) <> 0 OR sum(b) <> 0 ORDER BY {_KEY}
  ON CONFLICT ({_KEY}) DO UPDATE
  SET calls = t.calls + excluded.calls, bill_sec = t.bill_sec + excluded.bill_sec;
"""  # noqa: S608 - constants only
_NEW = f"SELECT {_DIMS}, 1, bill_sec FROM new_rows WHERE is_deleted IS false"  # noqa: S608
_OLD = f"SELECT {_DIMS}, -1, -bill_sec FROM old_rows WHERE is_deleted IS false"  # noqa: S608
_ROWS = {"insert": _NEW, "update": f"{_NEW} UNION ALL {_OLD}", "delete": _OLD}
_REFERENCING = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}
_BACKFILL = f"""
INSERT INTO call_day_totals ({_KEY}, calls, bill_sec)
SELECT {_DIMS}, count(*), coalesce(sum(bill_sec), 0)
FROM calls WHERE is_deleted IS false GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""  # noqa: S608 - constants only
_INCLUDE = ["direction", "disposition", "is_auto_call", "hotline", "queue_destination", "sip_user"]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_index(
        "ix_calls_live",
        "calls",
        ["tenant_id", "created_date", "transaction_id"],
        postgresql_include=_INCLUDE,
        postgresql_where=sa.text("is_deleted IS false"),
        sqlite_where=sa.text("is_deleted IS 0"),
    )
    op.create_table(
        "call_day_totals",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("is_auto_call", sa.Boolean(), nullable=False),
        sa.Column("hotline", sa.String(length=32), nullable=False),
        sa.Column("queue_destination", sa.String(length=32), nullable=False),
        sa.Column("sip_user", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("bill_sec", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "direction", "disposition", "is_auto_call", "hotline",
            "queue_destination", "sip_user", name=op.f("pk_call_day_totals"),
        ),
    )  # fmt: skip
    if not postgres:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_index(
        "ix_calls_search_trgm",
        "calls",
        ["tenant_id", "search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.execute(_BACKFILL)
    for name, rows in _ROWS.items():
        op.execute(
            f"CREATE FUNCTION call_day_totals_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{_UPSERT.format(rows=rows)}  RETURN NULL;\nEND $$"
        )
        op.execute(
            f"CREATE TRIGGER call_day_totals_{name} AFTER {name.upper()} ON calls "
            f"REFERENCING {_REFERENCING[name]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION call_day_totals_{name}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _ROWS:
            op.execute(f"DROP TRIGGER IF EXISTS call_day_totals_{name} ON calls")
            op.execute(f"DROP FUNCTION IF EXISTS call_day_totals_{name}()")
        op.drop_index("ix_calls_search_trgm", table_name="calls")
    op.drop_table("call_day_totals")
    op.drop_index("ix_calls_live", table_name="calls")
