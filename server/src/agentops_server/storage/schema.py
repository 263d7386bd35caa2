"""The database schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL.

Migrations (storage/migrations) create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from agentops_server.storage.types import DecimalText, JsonDoc, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL; INTEGER on SQLite so that the key is the rowid.
SeqInt = BigInteger().with_variant(Integer(), "sqlite")

projects = Table(
    "projects",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id"), nullable=False, index=True),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("prefix", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),  # chosen by the client
    Column("project_id", Text, ForeignKey("projects.id"), nullable=False),
    Column("parent_project_id", Text, nullable=True),
    Column("init_timestamp", UTCDateTime, nullable=False),
    Column("end_timestamp", UTCDateTime, nullable=True),
    Column("end_state", Text, nullable=False, server_default="Indeterminate"),
    Column("end_state_reason", Text, nullable=True),
    Column("tags", JsonDoc, nullable=False),  # list, in the order the client gave
    Column("host_env", JsonDoc, nullable=True),
    Column("video", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("auto_ended", Boolean, nullable=False, server_default=false()),
    # newest first per project, and keyset pagination on (init_timestamp, id)
    Index("ix_sessions_project_init", "project_id", "init_timestamp", "id"),
    Index("ix_sessions_project_state_init", "project_id", "end_state", "init_timestamp", "id"),
    # the inactivity sweep only looks at sessions without an end
    Index(
        "ix_sessions_open_activity",
        "last_activity_at",
        sqlite_where=text("end_timestamp IS NULL"),
        postgresql_where=text("end_timestamp IS NULL"),
    ),
)

# One row per (session, tag), with the session's project and start copied in so that a tag
# filter walks one index in list order.
session_tags = Table(
    "session_tags",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("tag", Text, nullable=False),
    Column("project_id", Text, nullable=False),
    Column("init_timestamp", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("session_id", "tag"),
    Index("ix_session_tags_project_tag_init", "project_id", "tag", "init_timestamp", "session_id"),
)

session_stats = Table(
    "session_stats",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("events", BigInteger, nullable=False, server_default="0"),
    Column("llms", BigInteger, nullable=False, server_default="0"),
    Column("tools", BigInteger, nullable=False, server_default="0"),
    Column("actions", BigInteger, nullable=False, server_default="0"),
    Column("errors", BigInteger, nullable=False, server_default="0"),
    Column("prompt_tokens", BigInteger, nullable=False, server_default="0"),
    Column("completion_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cache_read_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cache_write_tokens", BigInteger, nullable=False, server_default="0"),
    Column("reasoning_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cost_nanos", BigInteger, nullable=False, server_default="0"),
    Column("unknown_cost_events", BigInteger, nullable=False, server_default="0"),
    Column("first_event_at", UTCDateTime, nullable=True),
    Column("last_event_at", UTCDateTime, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("id", Text, nullable=False),  # chosen by the client, unique within its session
    Column("event_type", Text, nullable=False),
    Column("init_timestamp", UTCDateTime, nullable=False),
    Column("end_timestamp", UTCDateTime, nullable=True),
    Column("agent_id", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("model", Text, nullable=True),
    Column("provider", Text, nullable=True),
    Column("prompt_tokens", BigInteger, nullable=True),
    Column("completion_tokens", BigInteger, nullable=True),
    Column("cache_read_tokens", BigInteger, nullable=True),
    Column("cache_write_tokens", BigInteger, nullable=True),
    Column("reasoning_tokens", BigInteger, nullable=True),
    Column("cost_nanos", BigInteger, nullable=True),
    Column("cost_source", Text, nullable=False),
    Column("payload", JsonDoc, nullable=False),
    UniqueConstraint("session_id", "id"),
    Index("ix_events_session_time", "session_id", "init_timestamp", "seq"),
    Index("ix_events_session_type_time", "session_id", "event_type", "init_timestamp", "seq"),
)

agents = Table(
    "agents",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=True),
    PrimaryKeyConstraint("session_id", "id"),
)

price_overrides = Table(
    "price_overrides",
    metadata,
    Column("project_id", Text, ForeignKey("projects.id"), nullable=False),
    Column("model", Text, nullable=False),
    Column("input_per_mtok", DecimalText, nullable=False),
    Column("output_per_mtok", DecimalText, nullable=False),
    Column("cache_read_per_mtok", DecimalText, nullable=True),
    Column("cache_write_per_mtok", DecimalText, nullable=True),
    PrimaryKeyConstraint("project_id", "model"),
)

TOKEN_COUNTS = (  # an LLM event's token counts: columns of events and of session_stats
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
STAT_COUNTERS = (
    "events",
    "llms",
    "tools",
    "actions",
    "errors",
    *TOKEN_COUNTS,
    "cost_nanos",
    "unknown_cost_events",
)

# --- dashboard (migration 0002) ------------------------------------------------------------
# Dashboard accounts, and two trigger-maintained columns that let the session list sort by
# duration and by cost within a project through an index (storage/dashboard_sql.py).
users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False, unique=True),  # the login, lower-cased
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
# end minus start in ms, NULL while running; written by a database trigger, never by code
sessions.append_column(Column("duration_ms", BigInteger, nullable=True))
Index("ix_sessions_project_duration", sessions.c.project_id, sessions.c.duration_ms, sessions.c.id)
# the session's project, copied by a database trigger when the stats row is inserted
session_stats.append_column(Column("project_id", Text, nullable=True))
Index(
    "ix_session_stats_project_cost",
    session_stats.c.project_id,
    session_stats.c.cost_nanos,
    session_stats.c.session_id,
)

# --- nesting and OpenTelemetry (migration 0003) ----------------------------------------------
# An event's parent event (NULL directly under the session), indexed for the dashboard's tree
# and for OTLP ingestion's look-ups of a span's children.
events.append_column(Column("parent_id", Text, nullable=True))
Index(
    "ix_events_session_parent",
    events.c.session_id,
    events.c.parent_id,
    events.c.init_timestamp,
    events.c.seq,
)
# A session's name (an OTLP trace's root span) and metadata (agentops' trace.metadata.*,
# OpenInference's metadata, the legacy end_session kwargs).
sessions.append_column(Column("name", Text, nullable=True))
sessions.append_column(Column("metadata", JsonDoc, nullable=True))
# the span id of an OTLP trace's root span, once it arrived: its children sit under the session
sessions.append_column(Column("root_span_id", Text, nullable=True))
# Events the SDK could not deliver, by reason ({"queue_full": 3, ...}): cumulative counts that
# the SDK reports with the session, merged by taking the larger count per reason.
sessions.append_column(Column("dropped_events", JsonDoc, nullable=True))
# Tags that processes re-attached to the session (0.3's inherited sessions) added: the owner's
# tag updates replace its own tags and keep these (0.3 sends its whole list with every update).
sessions.append_column(Column("attached_tags", JsonDoc, nullable=True))

# OTLP data that cannot be stored yet: spans that the agentops 0.4 client exported before its
# token arrived (project_id NULL), and GenAI log records whose span has not arrived. Claimed
# by the first authenticated request that names the trace; expired by the sweeper.
pending_otlp = Table(
    "pending_otlp",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=True),
    Column("trace_id", Text, nullable=False),  # 32 hex digits
    Column("project_id", Text, nullable=True),  # NULL: not authenticated
    Column("kind", Text, nullable=False),  # "spans" | "logs"
    Column("received_at", UTCDateTime, nullable=False),
    Column("size", BigInteger, nullable=False),  # bytes of `body`
    Column("body", Text, nullable=False),  # JSON: the records, as ingest/otlp encodes them
    Index("ix_pending_otlp_trace", "trace_id"),
    Index("ix_pending_otlp_received", "received_at"),
)
# The span that log content waits for (NULL: spans, uploads, and log content held for a whole
# trace before 0011): a request of the trace takes the content of its own spans only.
pending_otlp.append_column(Column("span_id", Text, nullable=True))

# The print() output agentops 0.4 uploads once per process (POST /v4/logs/upload/).
session_logs = Table(
    "session_logs",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_session_logs_session", "session_id", "seq"),
)

# Objects agentops 0.4 uploads (POST /v4/objects/upload/), served back to their project only.
stored_objects = Table(
    "stored_objects",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("size", BigInteger, nullable=False),  # bytes of the UTF-8 body
    Column("body", Text, nullable=False),
)

# --- finding sessions (migration 0005) -------------------------------------------------------
# The LLM calls of each session per model ("" when none was named), kept at ingest like
# session_stats (`col = col + delta`): the model filter and the overview's models read these
# rows instead of every event. A failed call has no token and no cost (a provider error); an
# unpriced one has tokens but no cost.
session_models = Table(
    "session_models",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("model", Text, nullable=False),
    Column("calls", BigInteger, nullable=False, server_default="0"),
    Column("failed_calls", BigInteger, nullable=False, server_default="0"),
    Column("unpriced_calls", BigInteger, nullable=False, server_default="0"),
    Column("prompt_tokens", BigInteger, nullable=False, server_default="0"),
    Column("completion_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cost_nanos", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("session_id", "model"),
    Index("ix_session_models_model", "model", "session_id"),
)
MODEL_COUNTERS = (
    "calls",
    "failed_calls",
    "unpriced_calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_nanos",
)
Index("ix_agents_name", agents.c.name, agents.c.session_id)

# Full-text search: one document per session and append (the words of its events' prompts,
# completions, parameters, returns and errors), added and never changed; plus the session's
# own words (its name, end reason and agents' names: session_fields, migration 0010), replaced
# whenever one of them changes (storage/session_words.py). The words live in a full-text index
# beside it: on SQLite the FTS5 table `search_text` (rowid = seq), on PostgreSQL the tsvector
# column `terms` with a GIN index (storage/search_index.py).
search_docs = Table(
    "search_docs",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    # PostgreSQL: the words. SQLite: NULL, or the text of a session_fields document (which the
    # contentless FTS5 table needs again to delete it)
    Column("terms", TSVECTOR().with_variant(Text(), "sqlite"), nullable=True),
    Column("session_fields", Boolean, nullable=False, server_default=false()),
    Index("ix_search_docs_session", "session_id"),
    # a session's own documents, found without reading those of its events
    Index(
        "ix_search_docs_fields",
        "session_id",
        sqlite_where=text("session_fields = 1"),  # as SQLAlchemy writes the condition
        postgresql_where=text("session_fields"),
    ),
)
# Objects of the full-text index that the table definitions above cannot express: the
# migrated schema has them, schema comparisons leave them out.
SEARCH_ENGINE_OBJECTS = frozenset(
    {
        "search_text",
        "search_text_data",
        "search_text_idx",
        "search_text_docsize",
        "search_text_config",
        "search_text_content",
        "ix_search_docs_terms",
        "ix_sessions_id_pattern",
    }
)

# --- server-side sign-out (migration 0006) ---------------------------------------------------
# "Sign out everywhere" increments an account's generation: cookies of an older one are refused.
users.append_column(Column("signin_generation", Integer, nullable=False, server_default="0"))
# Sign-ins ended by "sign out", kept until their cookie would have expired anyway.
dashboard_signouts = Table(
    "dashboard_signouts",
    metadata,
    Column("session_id", Text, primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_dashboard_signouts_expires", "expires_at"),
)

# --- alerts (migration 0007) ----------------------------------------------------------
# A project's alert rules. `breached`/`episode` are the error-rate rule's state: an episode
# starts (and fires once) when the rate goes over the threshold, and ends when it recovers.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("threshold", DecimalText, nullable=True),
    Column("window_minutes", Integer, nullable=True),
    Column("min_sessions", Integer, nullable=True),
    Column("webhook_url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("breached", Boolean, nullable=False, server_default=false()),
    Column("episode", Integer, nullable=False, server_default="0"),
    Index("ix_alert_rules_project_created", "project_id", "created_at"),
)
# One row per occurrence of a rule: the unique (rule, occurrence) is the claim that makes every
# worker and replica agree that it fired once. It carries its delivery state and lease.
alert_firings = Table(
    "alert_firings",
    metadata,
    Column("id", Text, primary_key=True),
    Column("rule_id", Text, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Text, nullable=False),
    Column("occurrence", Text, nullable=False),
    Column("session_id", Text, nullable=True),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("details", JsonDoc, nullable=False),
    Column("status", Text, nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("rule_id", "occurrence"),
    Index("ix_alert_firings_status_next", "status", "next_attempt_at"),
    Index("ix_alert_firings_project_fired", "project_id", "fired_at", "id"),
)
# Every delivery attempt of a firing, in order.
alert_attempts = Table(
    "alert_attempts",
    metadata,
    Column("firing_id", Text, ForeignKey("alert_firings.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    PrimaryKeyConstraint("firing_id", "attempt"),
)


# --- project budgets (migration 0008) ------------------------------------------------
# A project's daily and monthly cost limits in nano-USD (NULL: no limit). While the spend of the
# UTC day or month reaches one, ingest answers tell the SDKs (agentops_server/budgets.py).
project_budgets = Table(
    "project_budgets",
    metadata,
    Column("project_id", Text, ForeignKey("projects.id"), primary_key=True),
    Column("daily_limit_nanos", BigInteger, nullable=True),
    Column("monthly_limit_nanos", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
