"""The stored data: sources, posts, classifications, rollups, alerts, subscribers, report runs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db import Base

# JSONB on PostgreSQL, plain JSON elsewhere (SQLite in the embedded mode).
JSONType = JSON().with_variant(JSONB(), "postgresql")
# BIGINT ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Source(Base):
    """A feed, API timeline or file that posts come from, with its polling state."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # rss | mastodon | file
    locator: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8))
    poll_interval_s: Mapped[int] = mapped_column(Integer, default=900)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_sources_due", "enabled", "next_due_at"),)


class Post(Base):
    """One collected post or article, unique per (source, external id)."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str] = mapped_column(String(2))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    collected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author_pseudonym: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))

    source: Mapped[Source] = relationship()

    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_posts_source_external"),
        Index("ix_posts_country_published", "country", "published_at"),
        Index("ix_posts_country_id", "country", "id"),  # a country's posts, newest first (the API's post list)
        Index("ix_posts_collected_at", "collected_at"),  # recent posts, for beat's sweep of unclassified ones
    )


class Classification(Base):
    """The current classification of a post; re-classification overwrites it and records the model version."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), unique=True
    )
    model_version: Mapped[str] = mapped_column(String(64))
    # Taxonomy.digest of the triggers.yaml that tagged it (NULL: stored before migration 0013)
    taxonomy_digest: Mapped[str | None] = mapped_column(String(16), nullable=True)
    antisemitic: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(32))
    triggers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    language_covered: Mapped[bool] = mapped_column(Boolean, default=True)
    classified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The n-grams or terms that most raised the score, as `vigil classify` gives them (flagged posts; [] for the
    # others; NULL: stored before migration 0015)
    explanation: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)

    __table_args__ = (
        Index("ix_classifications_model_version", "model_version"),
        # Antisemitic posts of a category, newest first: a small partial index (~5 % of the rows). Migration
        # 0007 also creates MCV statistics on (antisemitic, category), without which the planner ignores it.
        Index("ix_classifications_antisemitic_category", "category", "post_id", postgresql_where=text("antisemitic")),
    )


class Rollup(Base):
    """Counts per (country, day, category, trigger); '*' in a key column means all values of it."""

    __tablename__ = "rollups"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(64), primary_key=True)
    posts: Mapped[int] = mapped_column(Integer)
    antisemitic: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_rollups_day", "day"),)


class StaleDay(Base):
    """A country-day whose rollups lag behind its classifications: marked in the transaction that classified its
    posts, deleted by the recompute that catches up. Many batches of one day share one mark, so one recompute
    serves them all instead of one recompute of the whole day per batch."""

    __tablename__ = "stale_days"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Alert(Base):
    """A spike or data-gap event for a country, kept open and updated while it lasts."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(20))  # spike | no_data
    metric: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="open")
    severity: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[dt.date] = mapped_column(Date)
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # open -> acknowledged -> resolved, with who and when; "vigil" resolves on recovery.
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # Which announcement of the event this is: 1 when opened, one more each time it reopens after being
    # resolved or escalates (`notice_reason`). Each notice is delivered to every recipient afresh (its own
    # Delivery rows).
    notice: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    notice_reason: Mapped[str] = mapped_column(String(20), default="opened", server_default="opened")

    __table_args__ = (
        UniqueConstraint("country", "kind", "metric", "started_on", name="uq_alerts_event"),
        Index("ix_alerts_country_status", "country", "status"),
    )


class Subscriber(Base):
    """An NGO staff member who receives reports and alerts for some countries."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    countries: Mapped[list[str]] = mapped_column(JSONType, default=list)
    min_severity: Mapped[str] = mapped_column(String(20), default="warning")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_format: Mapped[str] = mapped_column(String(20), default="json", server_default="json")  # json | slack
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The weekly report is due from this weekday (0 = Monday) and hour, local time in `timezone`.
    report_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Delivery(Base):
    """One attempt to deliver one alert to one subscriber over one channel; retries add rows.

    The row is inserted as `sending` before the message goes out (the attempt's claim, unique per
    alert, notice, subscriber, channel and attempt number), then set to `sent` or `failed`.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook | admin_email
    notice: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # the alert's notice it delivers
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # when claimed

    __table_args__ = (
        Index("uq_deliveries_attempt", "alert_id", "notice", "subscriber_id", "channel", "attempt", unique=True),
        # The admin note has no subscriber, and NULLs never conflict in the key above (nor may they: a
        # deleted subscriber's rows turn NULL); its attempts get a key of their own.
        Index("uq_deliveries_admin_attempt", "alert_id", "notice", "attempt", unique=True,
              postgresql_where=text("channel = 'admin_email'"), sqlite_where=text("channel = 'admin_email'")),
    )


class ReportRun(Base):
    """One rendering (and sending) of a weekly report, claimed by its (scope, ISO week) key."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(200))  # "subscriber:<id>", "countries:<codes>" or "all"
    iso_week: Mapped[str] = mapped_column(String(8))
    # The countries its report covers, comma-separated and sorted, as rendered; None for all countries (or a
    # subscriber's run not rendered yet). Tokens scoped to a country see the runs about that country alone.
    countries: Mapped[str | None] = mapped_column(String(1000))
    # working -> sending -> success; error is retried from next_attempt_at until the attempts run out.
    status: Mapped[str] = mapped_column(String(20), default="working")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    path: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[list[str] | None] = mapped_column(JSONType)
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # e-mails sent, resends included
    admin_alerted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("scope", "iso_week", name="uq_report_runs_scope_week"),)


class IngestError(Base):
    """A rejected row or a failed fetch, kept so that nothing is silently dropped."""

    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    location: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    # sha256 of source, location, error and raw row for rejected rows (recorded once); NULL for failed fetches.
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_ingest_errors_source", "source_id", "created_at"),)


class ApiToken(Base):
    """An API token: only the sha256 of its secret is kept; a country scope limits every row it sees."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # viewer | analyst | admin
    country: Mapped[str | None] = mapped_column(String(2))  # None: every country
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Label(Base):
    """An analyst's verdict on a post; a post may have several (one per review), the latest counts."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    antisemitic: Mapped[bool] = mapped_column(Boolean)
    category: Mapped[str] = mapped_column(String(32))
    triggers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    labelled_by: Mapped[str] = mapped_column(String(200))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_labels_post", "post_id", "created_at"),)


class AuditEvent(Base):
    """A write through the API or dashboard, or a refused request (401/403), with who and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))  # e.g. alert.acknowledge, label.create, denied
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_audit_events_at", "at"),)
