"""change feed (triggers on calls), webhooks with their outbox, background exports

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000

Every INSERT and UPDATE of `calls` appends to `call_changes` from a trigger, in the
writer's own transaction: ingest (one call or a batch), `change`, evaluations and tag
renames are all covered without their code knowing. Existing calls are backfilled as
inserts, oldest first, so a first sync sees the whole history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(length=24)

_SQLITE_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

# SQLite: one writer at a time, so a counter row bumped inside the trigger gives a
# sequence in commit order (a MAX(seq) would scan the table).
_SQLITE_TRIGGER = """
CREATE TRIGGER call_changes_{op} AFTER {OP} ON calls FOR EACH ROW BEGIN
  UPDATE call_changes_counter SET value = value + 1;
  INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at)
  VALUES (NEW.tenant_id, 0, (SELECT value FROM call_changes_counter), NEW.transaction_id,
          '{op}', {now});
END
"""

# PostgreSQL: statement-level triggers with transition tables, so a multi-row insert
# (ingest's batch path) costs one INSERT ... SELECT, not one trigger call per row. The
# xid lets readers hold back rows of transactions still in flight (see sync.feed).
_PG_FUNCTION = """
CREATE FUNCTION call_changes_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at)
  SELECT n.tenant_id, pg_current_xact_id()::text::bigint, nextval('call_changes_seq'),
         n.transaction_id, '{op}', (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  FROM new_rows AS n;
  RETURN NULL;
END $$
"""
_PG_TRIGGER = """
CREATE TRIGGER call_changes_{op} AFTER {OP} ON calls
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_changes_{op}()
"""


def _tables() -> None:
    op.create_table(
        "call_changes",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "xid", "seq", name=op.f("pk_call_changes")),
    )
    op.create_table(
        "webhooks",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("hook_type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("failing_since", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhooks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("tenant_id", "hook_type", name=op.f("uq_webhooks_tenant_id_hook_type")),
    )
    op.create_table(
        "webhook_cursors",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_cursors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_webhook_cursors")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("hook_id", ID, nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retry_until", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "hook_id"],
            ["webhooks.tenant_id", "webhooks.id"],
            name=op.f("fk_webhook_deliveries_tenant_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["tenant_id", "status", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_recent", "webhook_deliveries", ["tenant_id", "created_at"]
    )
    op.create_table(
        "exports",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("date_format", sa.String(length=64), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_exports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_status", "exports", ["tenant_id", "status"])


def upgrade() -> None:
    _tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE call_changes_seq")
        op.execute(
            "INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at) "
            "SELECT tenant_id, 0, nextval('call_changes_seq'), transaction_id, 'insert', "
            "last_updated_date FROM (SELECT * FROM calls "
            "ORDER BY created_date, transaction_id) AS c"
        )
        for name in ("insert", "update"):
            op.execute(_PG_FUNCTION.format(op=name))
            op.execute(_PG_TRIGGER.format(op=name, OP=name.upper()))
        return
    op.execute("CREATE TABLE call_changes_counter (value INTEGER NOT NULL)")
    op.execute(
        "INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at) "
        "SELECT tenant_id, 0, row_number() OVER (ORDER BY created_date, transaction_id), "
        "transaction_id, "
        "'insert', last_updated_date FROM calls"
    )
    op.execute("INSERT INTO call_changes_counter SELECT count(*) FROM call_changes")
    for name in ("insert", "update"):
        op.execute(_SQLITE_TRIGGER.format(op=name, OP=name.upper(), now=_SQLITE_NOW_MS))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS call_changes_{name} ON calls")
            op.execute(f"DROP FUNCTION IF EXISTS call_changes_{name}()")
        op.execute("DROP SEQUENCE IF EXISTS call_changes_seq")
    else:
        for name in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS call_changes_{name}")
        op.execute("DROP TABLE IF EXISTS call_changes_counter")
    op.drop_index("ix_exports_status", table_name="exports")
    op.drop_table("exports")
    op.drop_index("ix_webhook_deliveries_recent", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_cursors")
    op.drop_table("webhooks")
    op.drop_table("call_changes")
