"""api_keys.agent_id: keys scoped to one agent ("my calls")

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00.000000

A key with an agent sees only the calls that agent took part in (matched by the agent's
email on the call, see auth.scope); NULL is a key of the whole tenant, as every key
made before. Nullable, no default: adding it rewrites no table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("agent_id", sa.String(length=24), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite it rebuilds the table, and dropping the old one would
    # cascade to the rows that reference it. SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE api_keys DROP COLUMN agent_id")
