"""webhook secrets encrypted at rest: room for a Fernet token in webhooks.secret

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000

A Fernet token of a 50-character secret is 164 characters: webhooks.secret becomes TEXT
on PostgreSQL (VARCHAR(100) -> TEXT rewrites nothing). SQLite does not enforce VARCHAR
lengths, so its table is left as it is (batch mode would rebuild it, and dropping the
old table would cascade to the deliveries). The rows themselves are not touched here:
secrets written before are read as legacy plaintext until `callhistory webhooks
rotate-secrets` encrypts them (see docs/webhooks.md, "Secrets at rest").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "webhooks",
            "secret",
            type_=sa.Text(),
            existing_type=sa.String(length=100),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Encrypted secrets do not fit VARCHAR(100): decrypt them first (not automated).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "webhooks",
            "secret",
            type_=sa.String(length=100),
            existing_type=sa.Text(),
            existing_nullable=False,
        )
