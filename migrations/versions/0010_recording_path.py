"""calls.recording_path: the PBX's own path of a call's recording

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000

`recording_file` is the link the API shows (CALLHISTORY_RECORDING_URL_TEMPLATE already
applied); streaming the file (`GET /api/call_transaction/recording/{id}`) needs the path
as the PBX wrote it. Calls stored before keep NULL here, and their `recording_file`
stands in for it. Nullable, no default: adding it rewrites no table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("recording_path", sa.Text(), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite it rebuilds the table, and dropping the old one would
    # cascade to the rows that reference it. SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE calls DROP COLUMN recording_path")
