"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 06:48:58.154239
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "time_zone", sa.String(length=64), server_default="Asia/Ho_Chi_Minh", nullable=False
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "agents",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("full_name_unsigned", sa.String(length=200), nullable=False),
        sa.Column("sip_user", sa.String(length=32), nullable=True),
        sa.Column("user_uuid", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agents_tenant_id_email"), ["tenant_id", "email"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agents_tenant_id_sip_user"), ["tenant_id", "sip_user"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agents_tenant_id_user_uuid"), ["tenant_id", "user_uuid"], unique=False
        )

    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "calls",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("created_date", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_date", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("source_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("destination_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("sip_user", sa.String(length=32), nullable=True),
        sa.Column("hotline", sa.String(length=32), nullable=True),
        sa.Column("queue_destination", sa.String(length=32), nullable=True),
        sa.Column("is_auto_call", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.Column("duration", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bill_sec", sa.Integer(), server_default="0", nullable=False),
        sa.Column("record_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answer_sec", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wait_sec", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hold_call_sec", sa.Integer(), server_default="0", nullable=False),
        sa.Column("playback_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bill_sec_forward_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("time_start_call", sa.BigInteger(), nullable=True),
        sa.Column("time_start_to_answer", sa.BigInteger(), nullable=True),
        sa.Column("ms_time_start_to_answer", sa.BigInteger(), nullable=True),
        sa.Column("time_start_media", sa.BigInteger(), nullable=True),
        sa.Column("time_end_call", sa.BigInteger(), nullable=True),
        sa.Column("hangup_cause", sa.String(length=64), nullable=True),
        sa.Column("hangup_cause_q850", sa.SmallInteger(), nullable=True),
        sa.Column("dial_status", sa.String(length=32), nullable=True),
        sa.Column("rtp_audio_in_mos", sa.Float(), nullable=True),
        sa.Column("sip_from_user", sa.String(length=64), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("domain_fusion", sa.String(length=253), nullable=True),
        sa.Column("pbx_type", sa.String(length=32), server_default="", nullable=False),
        sa.Column("ivr", sa.String(length=64), server_default="none", nullable=False),
        sa.Column("nation", sa.String(length=8), server_default="vn", nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("call_out_price", sa.Integer(), nullable=True),
        sa.Column("recording_file", sa.Text(), nullable=True),
        sa.Column("recording_file_voicemail", sa.Text(), nullable=True),
        sa.Column("is_voicemail", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "is_have_forward_out", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("is_stop_ivr", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_callbot", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_ai", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_trunk", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_missed_call", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_analyzed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "suspicious_checked", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("is_deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_number", sa.String(length=64), nullable=True),
        sa.Column("create_by", sa.JSON(), nullable=True),
        sa.Column("internal_destination", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_calls_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "transaction_id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_direction", ["tenant_id", "direction", "created_date"], unique=False
        )
        batch_op.create_index(
            "ix_calls_hotline", ["tenant_id", "hotline", "created_date"], unique=False
        )
        batch_op.create_index("ix_calls_id", ["tenant_id", "id"], unique=True)
        batch_op.create_index(
            "ix_calls_queue", ["tenant_id", "queue_destination", "created_date"], unique=False
        )
        batch_op.create_index(
            "ix_calls_sip_user", ["tenant_id", "sip_user", "created_date"], unique=False
        )
        batch_op.create_index(
            "ix_calls_window", ["tenant_id", "created_date", "transaction_id"], unique=False
        )

    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("full_name_unsigned", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers")),
    )
    op.create_table(
        "hotlines",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hotlines_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "number", name=op.f("pk_hotlines")),
    )
    op.create_table(
        "queues",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_queues_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "number", name=op.f("pk_queues")),
    )
    op.create_table(
        "tags",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_folded", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tags_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tags")),
        sa.UniqueConstraint("tenant_id", "name_folded", name=op.f("uq_tags_tenant_id_name_folded")),
    )
    op.create_table(
        "call_tags",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("user_position", sa.SmallInteger(), nullable=False),
        sa.Column("tag_id", sa.String(length=24), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("created_date", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tag_id"],
            ["tags.tenant_id", "tags.id"],
            name=op.f("fk_call_tags_tenant_id_tags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "transaction_id"],
            ["calls.tenant_id", "calls.transaction_id"],
            name=op.f("fk_call_tags_tenant_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "transaction_id", "user_position", "tag_id", name=op.f("pk_call_tags")
        ),
    )
    with op.batch_alter_table("call_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_tags_tag", ["tenant_id", "tag_id", "created_date"], unique=False
        )

    op.create_table(
        "call_users",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("created_date", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=24), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("user_uuid", sa.String(length=100), nullable=True),
        sa.Column("sip_user", sa.String(length=32), nullable=True),
        sa.Column("full_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("full_name_unsigned", sa.String(length=200), server_default="", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("note_created_date", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "transaction_id"],
            ["calls.tenant_id", "calls.transaction_id"],
            name=op.f("fk_call_users_tenant_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "transaction_id", "position", name=op.f("pk_call_users")
        ),
    )
    with op.batch_alter_table("call_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_users_email", ["tenant_id", "email", "created_date"], unique=False
        )
        batch_op.create_index(
            "ix_call_users_sip_user", ["tenant_id", "sip_user", "created_date"], unique=False
        )
        batch_op.create_index(
            "ix_call_users_user_uuid", ["tenant_id", "user_uuid", "created_date"], unique=False
        )

    op.create_table(
        "customer_phones",
        sa.Column("tenant_id", sa.String(length=24), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_customer_phones_tenant_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "phone", name=op.f("pk_customer_phones")),
    )


def downgrade() -> None:

    op.drop_table("customer_phones")
    with op.batch_alter_table("call_users", schema=None) as batch_op:
        batch_op.drop_index("ix_call_users_user_uuid")
        batch_op.drop_index("ix_call_users_sip_user")
        batch_op.drop_index("ix_call_users_email")

    op.drop_table("call_users")
    with op.batch_alter_table("call_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_call_tags_tag")

    op.drop_table("call_tags")
    op.drop_table("tags")
    op.drop_table("queues")
    op.drop_table("hotlines")
    op.drop_table("customers")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_window")
        batch_op.drop_index("ix_calls_sip_user")
        batch_op.drop_index("ix_calls_queue")
        batch_op.drop_index("ix_calls_id")
        batch_op.drop_index("ix_calls_hotline")
        batch_op.drop_index("ix_calls_direction")

    op.drop_table("calls")
    op.drop_table("api_keys")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_tenant_id_user_uuid"))
        batch_op.drop_index(batch_op.f("ix_agents_tenant_id_sip_user"))
        batch_op.drop_index(batch_op.f("ix_agents_tenant_id_email"))

    op.drop_table("agents")
    op.drop_table("tenants")
