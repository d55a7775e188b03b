"""The tables, as SQLAlchemy Core metadata.

`tenant_id` leads every primary key and index, so the tables can be distributed by
tenant (Citus) and every query a tenant makes stays on one shard. Times are epoch
milliseconds (BigInteger) unless a column name says seconds, as in the contract.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(24)  # 24-hex ids, like the source platform's object ids

tenants = Table(
    "tenants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("time_zone", String(64), nullable=False, server_default="Asia/Ho_Chi_Minh"),
    Column("created_at", BigInteger, nullable=False),
    # retention (migration 0012, calls.retention): NULL keeps calls / recordings forever
    Column("cdr_days", Integer),
    Column("recording_days", Integer),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("name", String(100), nullable=False, server_default=""),
    Column("key_hash", String(64), nullable=False),  # sha256 hex of the secret part
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    Column("agent_id", ID),  # migration 0011: a key that sees only this agent's calls
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

agents = Table(
    "agents",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("email", String(254)),
    Column("full_name", String(200), nullable=False),
    Column("full_name_unsigned", String(200), nullable=False),
    Column("sip_user", String(32)),
    Column("user_uuid", String(100)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index(None, "tenant_id", "email"),
    Index(None, "tenant_id", "sip_user"),
    Index(None, "tenant_id", "user_uuid"),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("full_name_unsigned", String(200), nullable=False),
    Column("phone", String(32)),  # the main number, national form
    Column("code", String(100)),  # the customer's id in the tenant's CRM
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_customers_code", "tenant_id", "code", unique=True),
)

customer_phones = Table(
    "customer_phones",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("phone", String(32), nullable=False),  # national form, see phones.national
    Column("customer_id", ID, nullable=False),
    PrimaryKeyConstraint("tenant_id", "phone"),
    ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="CASCADE"
    ),
)

hotlines = Table(
    "hotlines",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("number", String(32), nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    Column("provider", String(32)),
    PrimaryKeyConstraint("tenant_id", "number"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

queues = Table(
    "queues",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("number", String(32), nullable=False),  # the contract's group_number
    Column("name", String(200), nullable=False, server_default=""),
    PrimaryKeyConstraint("tenant_id", "number"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

tags = Table(
    "tags",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("name", String(100), nullable=False),  # as typed, for display
    Column("name_folded", String(100), nullable=False),  # for comparison
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "name_folded"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# What ix_calls_live carries beside its keys: the list's equality filters.
LIVE_FILTER_COLUMNS = (
    "direction",
    "disposition",
    "is_auto_call",
    "hotline",
    "queue_destination",
    "sip_user",
)

calls = Table(
    "calls",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("id", ID, nullable=False),  # the search item's `_id`
    # what the filters and sorting use
    Column("created_date", BigInteger, nullable=False),
    Column("last_updated_date", BigInteger, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("source_number", String(64), nullable=False, server_default=""),
    Column("destination_number", String(64), nullable=False, server_default=""),
    Column("sip_user", String(32)),
    Column("hotline", String(32)),  # the tenant's own number on the call (sip_numbers)
    Column("queue_destination", String(32)),
    Column("is_auto_call", Boolean, nullable=False, server_default=text("false")),
    Column("search_text", Text, nullable=False, server_default=""),  # folded, see calls.search
    # durations (seconds) and moments (epoch seconds, as in the source)
    Column("duration", Integer, nullable=False, server_default="0"),
    Column("bill_sec", Integer, nullable=False, server_default="0"),
    Column("record_seconds", Integer, nullable=False, server_default="0"),
    Column("answer_sec", Integer, nullable=False, server_default="0"),
    Column("wait_sec", Integer, nullable=False, server_default="0"),
    Column("hold_call_sec", Integer, nullable=False, server_default="0"),
    Column("playback_seconds", Integer, nullable=False, server_default="0"),
    Column("bill_sec_forward_out", Integer, nullable=False, server_default="0"),
    Column("time_start_call", BigInteger),
    Column("time_start_to_answer", BigInteger),
    Column("ms_time_start_to_answer", BigInteger),
    Column("time_start_media", BigInteger),
    Column("time_end_call", BigInteger),
    # what the PBX says about the call
    Column("hangup_cause", String(64)),
    Column("hangup_cause_q850", SmallInteger),
    Column("dial_status", String(32)),
    Column("rtp_audio_in_mos", Float),
    Column("sip_from_user", String(64)),
    Column("domain", String(253)),
    Column("domain_fusion", String(253)),
    Column("pbx_type", String(32), nullable=False, server_default=""),
    Column("ivr", String(64), nullable=False, server_default="none"),
    Column("nation", String(8), nullable=False, server_default="vn"),
    Column("provider", String(32)),
    Column("call_out_price", Integer),  # VND
    Column("recording_file", Text),  # the link shown
    Column("recording_file_voicemail", Text),
    Column("recording_path", Text),  # the PBX's own (migration 0010), to stream the file
    Column("is_voicemail", Boolean, nullable=False, server_default=text("false")),
    Column("is_have_forward_out", Boolean, nullable=False, server_default=text("false")),
    Column("is_stop_ivr", Boolean, nullable=False, server_default=text("false")),
    Column("is_callbot", Boolean, nullable=False, server_default=text("false")),
    Column("is_ai", Boolean, nullable=False, server_default=text("false")),
    Column("is_trunk", Boolean, nullable=False, server_default=text("false")),
    Column("is_missed_call", Boolean, nullable=False, server_default=text("false")),
    Column("is_analyzed", Boolean, nullable=False, server_default=text("false")),
    Column("suspicious_checked", Boolean, nullable=False, server_default=text("false")),
    Column("is_deleted", Boolean, nullable=False, server_default=text("false")),
    # who: the customer (snapshot at ingest) and the parties, as shown
    Column("customer_id", ID),
    Column("customer_name", String(200)),
    Column("customer_number", String(64)),
    Column("create_by", JSON),
    Column("internal_destination", JSON),
    Column("note", Text),
    PrimaryKeyConstraint("tenant_id", "transaction_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    # the date window is in every query; each filter gets its own leading column after it
    Index("ix_calls_window", "tenant_id", "created_date", "transaction_id"),
    Index("ix_calls_direction", "tenant_id", "direction", "created_date"),
    Index("ix_calls_sip_user", "tenant_id", "sip_user", "created_date"),
    Index("ix_calls_hotline", "tenant_id", "hotline", "created_date"),
    Index("ix_calls_queue", "tenant_id", "queue_destination", "created_date"),
    Index("ix_calls_id", "tenant_id", "id", unique=True),
    # migration 0006: the live calls of a window in list order with every equality filter
    # at hand, so counts and deep pages are index-only scans (PostgreSQL: INCLUDE)
    Index(
        "ix_calls_live",
        "tenant_id",
        "created_date",
        "transaction_id",
        postgresql_include=[*LIVE_FILTER_COLUMNS],
        postgresql_where=text("is_deleted IS false"),
        sqlite_where=text("is_deleted IS 0"),
    ),
    # keyword search on PostgreSQL: trigrams, tenant first (btree_gin); SQLite scans
    Index(
        "ix_calls_search_trgm",
        "tenant_id",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql"),
)

# migration 0017 (replacing 0006's per-day totals): live calls per tenant, UTC hour and
# (direction, disposition, is_auto_call), once in all (dimension '') and once more per
# value of each other equality filter a call has (dimension 'hotline', 'queue_destination'
# or 'sip_user'), kept exact by triggers on calls on both stores (calls/totals.py). A
# window's count or report sums its whole hours here and counts only its two partial
# edge hours in calls.
TOTALS_DIMENSIONS = ("hotline", "queue_destination", "sip_user")
call_hour_totals = Table(
    "call_hour_totals",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("dimension", String(24), nullable=False),  # '' or one of TOTALS_DIMENSIONS
    Column("value", String(32), nullable=False),  # the call's value of it ('' for '')
    Column("hour", BigInteger, nullable=False),  # epoch ms of the UTC hour
    Column("direction", String(16), nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("is_auto_call", Boolean, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("bill_sec", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "tenant_id", "dimension", "value", "hour", "direction", "disposition", "is_auto_call"
    ),
)

# migration 0013: each agent's and each queue's calls per tenant and UTC hour, with the
# measures GET /api/stats/* sums (stats/rollups.py), kept exact by triggers on calls and
# call_users on both stores. '' stands for no email, sip_user.
STATS_MEASURES = (
    "calls", "inbound", "outbound", "answered", "missed", "talk_sec", "handle_sec", "wait_sec",
)  # fmt: skip


def _measure_columns() -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=False) for name in STATS_MEASURES]


agent_hour_totals = Table(
    "agent_hour_totals",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("hour", BigInteger, nullable=False),  # epoch ms of the UTC hour
    Column("email", String(254), nullable=False),
    Column("sip_user", String(32), nullable=False),
    Column("full_name", String(200), nullable=False),  # a label, as last written
    Column("user_uuid", String(100)),
    *_measure_columns(),
    PrimaryKeyConstraint("tenant_id", "hour", "email", "sip_user"),
)

queue_hour_totals = Table(
    "queue_hour_totals",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("hour", BigInteger, nullable=False),
    Column("queue", String(32), nullable=False),
    *_measure_columns(),
    PrimaryKeyConstraint("tenant_id", "hour", "queue"),
)

# The agents on a call, each with their own note; position orders them as the PBX did.
call_users = Table(
    "call_users",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("created_date", BigInteger, nullable=False),  # the call's, for windowed filters
    Column("agent_id", ID),
    Column("email", String(254)),
    Column("user_uuid", String(100)),
    Column("sip_user", String(32)),
    Column("full_name", String(200), nullable=False, server_default=""),
    Column("full_name_unsigned", String(200), nullable=False, server_default=""),
    Column("note", Text),
    Column("note_created_date", BigInteger),
    PrimaryKeyConstraint("tenant_id", "transaction_id", "position"),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id"],
        ["calls.tenant_id", "calls.transaction_id"],
        ondelete="CASCADE",
    ),
    Index("ix_call_users_email", "tenant_id", "email", "created_date", "transaction_id"),
    Index("ix_call_users_user_uuid", "tenant_id", "user_uuid", "created_date", "transaction_id"),
    Index("ix_call_users_sip_user", "tenant_id", "sip_user", "created_date", "transaction_id"),
)

CALL_OWNER = -1  # call_tags.user_position of the call's own tags

# Tags on a call: the call's own (user_position -1) and each agent's (their position).
call_tags = Table(
    "call_tags",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("user_position", SmallInteger, nullable=False),
    Column("tag_id", ID, nullable=False),
    Column("position", SmallInteger, nullable=False),  # the order the tags were given in
    Column("created_date", BigInteger, nullable=False),  # the call's, for windowed filters
    PrimaryKeyConstraint("tenant_id", "transaction_id", "user_position", "tag_id"),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id"],
        ["calls.tenant_id", "calls.transaction_id"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "tag_id"], ["tags.tenant_id", "tags.id"], ondelete="CASCADE"
    ),
    Index("ix_call_tags_tag", "tenant_id", "tag_id", "created_date", "transaction_id"),
)

# Each leg a PBX posted, as decoded; a call is recomputed from all its legs, so legs may
# arrive in any order and a re-sent leg (same uuid) changes nothing.
cdr_legs = Table(
    "cdr_legs",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("leg_uuid", String(64), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),  # freeswitch, ...
    Column("document", Text, nullable=False),  # the decoded JSON document (lz4: 0015)
    PrimaryKeyConstraint("tenant_id", "call_id", "leg_uuid"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

NO_TENANT = ""  # rejections whose credentials named no tenant

# What ingest refused, with the reason and the body, so nothing is dropped in silence.
ingest_rejections = Table(
    "ingest_rejections",
    metadata,
    Column("tenant_id", String(24), nullable=False),
    Column("id", ID, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),  # freeswitch, batch, import
    Column("reason", String(64), nullable=False),  # a stable code
    Column("detail", Text, nullable=False, server_default=""),
    Column("content_type", String(200), nullable=False, server_default=""),
    Column("query", Text, nullable=False, server_default=""),
    Column("body", Text, nullable=False, server_default=""),  # bounded, see ingest.rejections
    Column("replayed_at", BigInteger),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("ix_ingest_rejections_received", "tenant_id", "received_at"),
)

# The tenant's price per carrier for outbound calls (VND), billed in blocks.
price_rates = Table(
    "price_rates",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("carrier", String(32), nullable=False),
    Column("price_per_minute", Integer, nullable=False),
    Column("first_block_sec", SmallInteger, nullable=False),
    Column("next_block_sec", SmallInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "carrier"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# The tenant's call-quality criteria. Never deleted, only deactivated: past evaluations
# still point at them (and keep their own copy of the name, maximum and weight).
evaluation_criteria = Table(
    "evaluation_criteria",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("max_score", Integer, nullable=False),
    Column("weight", Float, nullable=False, server_default="1"),
    Column("position", Integer, nullable=False),  # the order of the evaluation form
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_evaluation_criteria_position", "tenant_id", "position"),
)

# One evaluation per evaluator and call: re-scoring replaces the evaluator's own row.
call_evaluations = Table(
    "call_evaluations",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("id", ID, nullable=False),
    Column("call_created_date", BigInteger, nullable=False),  # the call's, for report windows
    Column("evaluator_id", ID, nullable=False),  # agents.id
    # the evaluator as they were when scoring, so the answer survives directory changes
    Column("evaluator_name", String(200), nullable=False, server_default=""),
    Column("evaluator_email", String(254)),
    Column("evaluator_user_uuid", String(100)),
    Column("evaluator_sip_user", String(32)),
    Column("note", Text),
    Column("score", Float, nullable=False),  # weighted percentage, 0..100
    Column("created_date", BigInteger, nullable=False),
    Column("last_updated_date", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "transaction_id", "id"),
    UniqueConstraint("tenant_id", "transaction_id", "evaluator_id"),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id"],
        ["calls.tenant_id", "calls.transaction_id"],
        ondelete="CASCADE",
    ),
    Index("ix_call_evaluations_window", "tenant_id", "call_created_date"),
)

# Each criterion's score in an evaluation, with the criterion as it was at the time.
call_evaluation_scores = Table(
    "call_evaluation_scores",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("evaluation_id", ID, nullable=False),
    Column("criteria_id", ID, nullable=False),
    Column("position", SmallInteger, nullable=False),  # the form's order when scored
    Column("criteria_name", String(200), nullable=False),
    Column("max_score", Integer, nullable=False),
    Column("weight", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("note", Text),
    PrimaryKeyConstraint("tenant_id", "transaction_id", "evaluation_id", "criteria_id"),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id", "evaluation_id"],
        [
            "call_evaluations.tenant_id",
            "call_evaluations.transaction_id",
            "call_evaluations.id",
        ],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "criteria_id"],
        ["evaluation_criteria.tenant_id", "evaluation_criteria.id"],
        ondelete="CASCADE",
    ),
    Index("ix_call_evaluation_scores_criteria", "tenant_id", "criteria_id"),
)

# People who sign in to the dashboard with a password (created with `callhistory user
# create`); an API key signs in too, without a row here.
dashboard_users = Table(
    "dashboard_users",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("email", String(254), nullable=False),  # lower-cased
    Column("password_hash", String(200), nullable=False),  # Argon2id, see dashboard.users
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "email"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# A call erased on request (DELETE /api/call_transaction/detail/{id}, calls.deletion) or by the
# tenant's retention: who, when, which call (migration 0012). What it held is gone.
call_deletions = Table(
    "call_deletions",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("deleted_at", BigInteger, nullable=False),
    Column("deleted_by", String(100), nullable=False),  # key:<id>, user:<id>, retention
    Column("recording_removed", Boolean, nullable=False),
    PrimaryKeyConstraint("tenant_id", "transaction_id", "deleted_at"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# --- the change feed, webhooks and exports (migration 0007) ---

# One row per INSERT/UPDATE of `calls`, written by database triggers (migration 0007) in
# the writer's own transaction, so no code path can change a call without a row here. It
# is the incremental-sync feed and the webhooks' outbox. Ordered by (xid, seq): `xid` is
# the writing transaction's id on PostgreSQL (0 on SQLite, whose writers are serial), so
# a reader can hold back rows of transactions that might still commit (see sync.feed).
call_changes = Table(
    "call_changes",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("xid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # insert | update
    Column("changed_at", BigInteger, nullable=False),  # epoch ms
    PrimaryKeyConstraint("tenant_id", "xid", "seq"),
)

# A tenant's webhook, one per type (the platform's register/destroy take a hook_type).
webhooks = Table(
    "webhooks",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("hook_type", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    # The signing secret, Fernet-encrypted (callhistory.secrets_box); TEXT since 0009
    Column("secret", Text, nullable=False),
    Column("status", String(16), nullable=False),  # active | paused
    Column("created_at", BigInteger, nullable=False),
    Column("failing_since", BigInteger),  # first failure of the current failing streak
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "hook_type"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# How far the worker has fanned a tenant's changes out into deliveries.
webhook_cursors = Table(
    "webhook_cursors",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("xid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

# One event for one hook; its id is the X-Callhistory-Delivery header, the body is fixed
# when it is made, so every attempt sends the same bytes.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("hook_id", ID, nullable=False),
    Column("event", String(16), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | parked
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("retry_until", BigInteger, nullable=False),  # parked after this (24 h)
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_attempt_at", BigInteger),
    Column("response_code", Integer),
    Column("error", Text),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(
        ["tenant_id", "hook_id"], ["webhooks.tenant_id", "webhooks.id"], ondelete="CASCADE"
    ),
    Index("ix_webhook_deliveries_due", "tenant_id", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_recent", "tenant_id", "created_at"),
    # migration 0008: what retention prunes, delivered or parked, by their last attempt
    Index("ix_webhook_deliveries_finished", "tenant_id", "status", "last_attempt_at"),
)

# Background exports: the filter, the format and the progress; the file lives on disk.
exports = Table(
    "exports",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    # queued | running | done | failed | expired (file removed once its links expired)
    Column("status", String(16), nullable=False),
    Column("format", String(8), nullable=False),  # csv | csv.gz | xlsx
    Column("time_zone", String(64), nullable=False),
    Column("date_format", String(64), nullable=False),
    Column("filter", JSON, nullable=False),
    Column("rows_total", Integer),
    Column("rows_done", Integer, nullable=False, server_default="0"),
    Column("size_bytes", BigInteger),
    Column("path", Text),
    Column("error", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger),
    Column("finished_at", BigInteger),
    Column("link_expires_at", BigInteger),  # migration 0008: the latest link handed out
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_exports_status", "tenant_id", "status"),
)

# migration 0008: how far retention has pruned a tenant's change feed. Every change at or
# before (xid, seq) is gone, and the latest of them changed at `changed_until`; a sync
# cursor before it that would have read them answers 410 cursor_expired (sync.feed).
sync_horizons = Table(
    "sync_horizons",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("xid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("changed_until", BigInteger, nullable=False),  # epoch ms
    Column("pruned_at", BigInteger, nullable=False),  # epoch ms
    PrimaryKeyConstraint("tenant_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)
