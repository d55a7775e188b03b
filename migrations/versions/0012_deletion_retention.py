"""call_deletions (the audit of erased calls) and each tenant's retention

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000

- call_deletions: who erased which call when (a data-protection request through
  `DELETE /api/call_transaction/{id}`, or the tenant's retention), and whether its
  recording file was removed. Nothing of what the call held is kept.
- tenants.cdr_days, tenants.recording_days: how long the tenant's calls and their
  recordings are kept (Wazo's model); NULL keeps them forever, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.String(length=24)


def upgrade() -> None:
    op.create_table(
        "call_deletions",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_by", sa.String(length=100), nullable=False),
        sa.Column("recording_removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_call_deletions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "transaction_id", "deleted_at", name=op.f("pk_call_deletions")
        ),
    )
    op.add_column("tenants", sa.Column("cdr_days", sa.Integer(), nullable=True))
    op.add_column("tenants", sa.Column("recording_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Not batch mode: rebuilding `tenants` on SQLite would cascade to every tenant's rows.
    op.execute("ALTER TABLE tenants DROP COLUMN recording_days")
    op.execute("ALTER TABLE tenants DROP COLUMN cdr_days")
    op.drop_table("call_deletions")
