"""retention: the change feed's pruned horizon, finished deliveries, export link expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

- sync_horizons: per tenant, the last change pruned from call_changes and the latest
  time among the pruned ones, so a sync cursor before it answers 410 cursor_expired
  instead of silently skipping what was pruned (see callhistory.sync.pruning).
- ix_webhook_deliveries_finished: delivered and parked deliveries by their last
  attempt, tenant first, so pruning them is an index range, not a scan.
- exports.link_expires_at: the latest download link handed out, so an export's file is
  removed only once every link to it has expired.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.String(length=24)


def upgrade() -> None:
    op.create_table(
        "sync_horizons",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_until", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sync_horizons_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_sync_horizons")),
    )
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["tenant_id", "status", "last_attempt_at"],
    )
    op.add_column("exports", sa.Column("link_expires_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:  # SQLite: batch mode drops a column
        batch.drop_column("link_expires_at")
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_table("sync_horizons")
