"""customers.code: the customer's id in the tenant's CRM, unique per tenant

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_customers_code", ["tenant_id", "code"], unique=True)


def downgrade() -> None:
    # recreate="never": SQLite (3.35+) drops the column in place. Rebuilding the table
    # would drop the old one, and with foreign keys on that deletes every customer_phones
    # row through ON DELETE CASCADE.
    with op.batch_alter_table("customers", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_customers_code")
        batch_op.drop_column("code")
