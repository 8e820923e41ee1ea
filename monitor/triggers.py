"""The trigger taxonomy in use: the file VIGIL_TRIGGERS_FILE names, else the packaged classifiers/triggers.yaml."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import Settings, get_settings
from monitor.db import as_utc
from monitor.models import Classification, Post

if TYPE_CHECKING:
    from classifiers.taxonomy import Taxonomy

log = structlog.get_logger(__name__)


def current_taxonomy(settings: Settings | None = None) -> Taxonomy:
    """The taxonomy workers tag with, reports label with and labels are checked against, as the file is now
    (`load_taxonomy` reads it again when it changes, and keeps the last version that compiled).

    A file that this process never could read or compile (a typo in it when the worker started) gives the
    packaged taxonomy, logged as an error at each call: a typo must not stop classification, and posts tagged
    meanwhile carry the packaged taxonomy's digest, so `vigil reclassify` tags them again once the file is fixed.
    """
    from classifiers.taxonomy import load_taxonomy

    path = (settings or get_settings()).triggers_file
    if path is None:
        return load_taxonomy()
    try:
        return load_taxonomy(path)
    except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
        log.error("triggers_file_unusable", path=str(path), error=str(exc)[:300], using="packaged triggers.yaml")
        return load_taxonomy()


@dataclass(frozen=True)
class TriggerChange:
    """How many of the sampled posts a trigger's terms tag now, and with an edited taxonomy."""

    trigger: str
    now: int
    edited: int
    gained: int  # tagged with the edit, not now
    lost: int  # tagged now, not with the edit
    now_antisemitic: int  # of `now`, the posts whose stored classification is antisemitic
    edited_antisemitic: int


def compare_taxonomies(session: Session, current: Taxonomy, edited: Taxonomy, *, since: dt.datetime,
                       country: str | None = None, limit: int = 50_000) -> tuple[int, list[TriggerChange]]:
    """Tag the stored posts published since `since` (the most recent `limit`, of `country` when given) with both
    taxonomies' terms, each post on its date, and count per trigger; nothing is written. Returns (posts read,
    changes), triggers in the edited taxonomy's order, then the ones it drops."""
    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import tag_batch

    query = (select(Post.text, Post.published_at, Classification.antisemitic)
             .outerjoin(Classification, Classification.post_id == Post.id).where(Post.published_at >= since))
    if country:
        query = query.where(Post.country == country)
    rows = session.execute(query.order_by(Post.published_at.desc()).limit(limit)).all()
    normalized = normalize_batch([r.text for r in rows])
    dates = [as_utc(r.published_at).date() for r in rows]
    before, after = tag_batch(normalized, current, dates), tag_batch(normalized, edited, dates)
    hostile = {i for i, r in enumerate(rows) if r.antisemitic}
    changes = []
    for tid in dict.fromkeys([*edited.ids, *current.ids]):
        was = {i for i, tags in enumerate(before) if tid in tags}
        will = {i for i, tags in enumerate(after) if tid in tags}
        changes.append(TriggerChange(tid, len(was), len(will), len(will - was), len(was - will),
                                     len(was & hostile), len(will & hostile)))
    return len(rows), changes
