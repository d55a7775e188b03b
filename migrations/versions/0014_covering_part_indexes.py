"""The agents' and tags' indexes carry the call's id: their counts read no call

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000

A list or search filtered only by agents, user ids or tags counts the distinct calls of
the matching `call_users` / `call_tags` rows (calls.parts): with `transaction_id` at the
end of each index that count is an index-only scan, where it used to read every call of
the window. The old three-column indexes are a prefix of the new ones, so they go.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# the columns the erased calls' rows are found by, frozen here as the migration reads them
_KEY = ("tenant_id", "transaction_id")
CALLS = sa.table("calls", *map(sa.column, _KEY), sa.column("is_deleted", sa.Boolean))
CALL_USERS = sa.table("call_users", *map(sa.column, _KEY))
CALL_TAGS = sa.table("call_tags", *map(sa.column, _KEY))

# (table, index, its column of the filter)
INDEXES = [
    ("call_users", "ix_call_users_email", "email"),
    ("call_users", "ix_call_users_user_uuid", "user_uuid"),
    ("call_users", "ix_call_users_sip_user", "sip_user"),
    ("call_tags", "ix_call_tags_tag", "tag_id"),
]


def _rebuild(columns: list[str], table: str, name: str) -> None:
    op.drop_index(name, table_name=table)
    op.create_index(name, table, columns)


def upgrade() -> None:
    for parts in (CALL_USERS, CALL_TAGS):
        erased = sa.exists().where(
            CALLS.c.tenant_id == parts.c.tenant_id,
            CALLS.c.transaction_id == parts.c.transaction_id,
            CALLS.c.is_deleted.is_(True),
        )
        op.execute(parts.delete().where(erased))
    for table, name, column in INDEXES:
        _rebuild(["tenant_id", column, "created_date", "transaction_id"], table, name)


def downgrade() -> None:
    for table, name, column in INDEXES:
        _rebuild(["tenant_id", column, "created_date"], table, name)
