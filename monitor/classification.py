"""The classification stage: read stored posts, run the model in batches, upsert their classifications."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import structlog
from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from monitor.db import as_utc, insert_for
from monitor.models import Classification, Post

log = structlog.get_logger(__name__)


class Tagging(Protocol):
    digest: str  # names the version of the trigger taxonomy (classifiers.taxonomy.Taxonomy)


class Predictor(Protocol):
    version: str

    def predict(self, texts: Sequence[str], languages: Sequence[str | None] | None = None, *,
                dates: Sequence[dt.date | None] | None = None, taxonomy: Tagging | None = None) -> list: ...


def classify_posts(session: Session, post_ids: Sequence[int], model: Predictor,
                   taxonomy: Tagging) -> dict[str, set[dt.date]]:
    """Classify the given posts still lacking a classification by this model tagged with this trigger
    `taxonomy` (a post tagged before an edit of triggers.yaml is done again); return the days touched per country.

    The days of every given post are returned, classified now or before: a task retried after it committed
    still sends its rollups on, and recomputing a day twice changes nothing.
    """
    rows = session.execute(
        select(Post.id, Post.text, Post.language, Post.country, Post.published_at, Classification.model_version,
               Classification.taxonomy_digest)
        .outerjoin(Classification, Classification.post_id == Post.id)
        .where(Post.id.in_(list(post_ids)))
        .order_by(Post.id)
    ).all()
    touched: dict[str, set[dt.date]] = defaultdict(set)
    day = {row.id: as_utc(row.published_at).date() for row in rows}
    for row in rows:
        touched[row.country].add(day[row.id])
    # Only the rows still left to do are predicted: a redelivered task changes nothing twice.
    rows = [r for r in rows if (r.model_version, r.taxonomy_digest) != (model.version, taxonomy.digest)]
    if not rows:
        return touched
    # The post's date decides which triggers are active (a trigger's active_from / active_to in the YAML).
    predictions = model.predict([r.text for r in rows], [r.language for r in rows], dates=[day[r.id] for r in rows],
                                taxonomy=taxonomy)
    now = dt.datetime.now(dt.timezone.utc)
    values = []
    for row, pred in zip(rows, predictions, strict=True):
        values.append({
            "post_id": row.id,
            "model_version": model.version,
            "taxonomy_digest": taxonomy.digest,
            "antisemitic": bool(pred.antisemitic),
            "score": float(pred.score),
            "category": pred.category,
            "triggers": list(pred.triggers),
            "language_covered": bool(pred.language_covered),
            "classified_at": now,
            "explanation": list(pred.explanation),
        })
    # executemany of one statement, compiled once per process (psycopg pipelines the rows); .values(values) would
    # compile every batch's rows of literals anew, which cost more than predicting them.
    stmt = insert_for(session, Classification.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["post_id"],
        set_={c: stmt.excluded[c] for c in ("model_version", "taxonomy_digest", "antisemitic", "score", "category",
                                            "triggers", "language_covered", "classified_at", "explanation")},
    )
    session.execute(stmt, values)
    log.info("posts_classified", count=len(values), model_version=model.version, taxonomy_digest=taxonomy.digest,
             antisemitic=sum(v["antisemitic"] for v in values))
    return touched


def _outdated(model_version: str, taxonomy_digest: str) -> dict[str, ColumnElement[bool]]:
    """Why a post (outer-joined to its classification) is due for classification, one disjoint clause per
    reason: never classified, classified by another model, or by this one but tagged with another version of the
    trigger taxonomy."""
    return {"unclassified": Classification.id.is_(None),
            "other model": Classification.model_version != model_version,
            "other trigger taxonomy": (Classification.model_version == model_version)
            & Classification.taxonomy_digest.is_distinct_from(taxonomy_digest)}


def posts_needing_classification(session: Session, model_version: str, taxonomy_digest: str, after_id: int = 0,
                                 limit: int = 5000) -> list[int]:
    """Ids of posts with no classification by `model_version` tagged with the taxonomy `taxonomy_digest` names,
    in id order, for reclassification batches."""
    return list(session.scalars(
        select(Post.id)
        .outerjoin(Classification, Classification.post_id == Post.id)
        .where(Post.id > after_id, or_(*_outdated(model_version, taxonomy_digest).values()))
        .order_by(Post.id)
        .limit(limit)
    ))


def reclassification_backlog(session: Session, model_version: str, taxonomy_digest: str) -> dict[str, int]:
    """How many stored posts `vigil reclassify` would send, by reason (see _outdated)."""
    reasons = _outdated(model_version, taxonomy_digest)
    counts = session.execute(select(*(func.count().filter(clause) for clause in reasons.values()))
                             .select_from(Post).outerjoin(Classification, Classification.post_id == Post.id)).one()
    return dict(zip(reasons, counts, strict=True))


def stranded_post_ids(session: Session, *, collected_after: dt.datetime, collected_before: dt.datetime,
                      after_id: int = 0, limit: int = 5000) -> list[int]:
    """Ids of posts collected in [collected_after, collected_before) that no classification has reached, in id
    order: their classify task was lost or gave up (a database away longer than its retries), so no rollup
    counts them.

    `collected_before` leaves a grace period, so posts whose task is merely still queued are not sent twice;
    were they, the second task would predict nothing but still recompute their days' rollups.
    """
    return list(session.scalars(
        select(Post.id)
        .where(Post.collected_at >= collected_after, Post.collected_at < collected_before, Post.id > after_id,
               ~exists().where(Classification.post_id == Post.id))
        .order_by(Post.id)
        .limit(limit)
    ))


def has_trigger(session: Session, trigger: str):
    """Classification.triggers contains `trigger`: JSONB containment on PostgreSQL, a text match elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Classification.triggers, JSONB).contains([trigger])
    return cast(Classification.triggers, String).like(f'%"{trigger}"%')


def filter_clauses(session: Session, *, category: str | None = None, trigger: str | None = None) -> list:
    """WHERE clauses for classifications of `category` and naming `trigger` (either may be None: no filter)."""
    clauses = []
    if category is not None:
        clauses.append(Classification.category == category)
    if trigger is not None:
        clauses.append(has_trigger(session, trigger))
    return clauses
