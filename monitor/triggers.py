"""The trigger taxonomy in use: the file VIGIL_TRIGGERS_FILE names, else the packaged classifiers/triggers.yaml."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
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
    from classifiers.taxonomy import TAXONOMY_ERRORS, load_taxonomy

    path = (settings or get_settings()).triggers_file
    if path is None:
        return load_taxonomy()
    try:
        return load_taxonomy(path)
    except TAXONOMY_ERRORS as exc:
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
                       country: str | None = None, limit: int = 50_000,
                       chunk: int = 4096) -> tuple[int, list[TriggerChange]]:
    """Tag the stored posts published since `since` (at most `limit`, the most recently stored, of `country` when
    given) with both taxonomies' terms, each post on its date, `chunk` posts at a time; count per trigger; write
    nothing. Returns (posts read, changes), triggers in the edited taxonomy's order, then the ones it drops."""
    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import tag_batch

    query = (select(Post.text, Post.published_at, Classification.antisemitic)
             .outerjoin(Classification, Classification.post_id == Post.id).where(Post.published_at >= since))
    if country:
        query = query.where(Post.country == country)
    # Newest stored first, by the primary key: no sort of every post published since `since`.
    rows = session.execute(query.order_by(Post.id.desc()).limit(limit).execution_options(yield_per=chunk))
    ids = list(dict.fromkeys([*edited.ids, *current.ids]))
    counts = {tid: [0] * 6 for tid in ids}  # now, edited, gained, lost, now antisemitic, edited antisemitic
    read = 0
    for part in rows.partitions():
        read += len(part)
        normalized = normalize_batch([r.text for r in part])
        dates = [as_utc(r.published_at).date() for r in part]
        for before, after, row in zip(tag_batch(normalized, current, dates), tag_batch(normalized, edited, dates),
                                      part, strict=True):
            for tid in set(before) | set(after):
                was, will, c = tid in before, tid in after, counts[tid]
                c[0] += was
                c[1] += will
                c[2] += will and not was
                c[3] += was and not will
                c[4] += was and bool(row.antisemitic)
                c[5] += will and bool(row.antisemitic)
    return read, [TriggerChange(tid, *counts[tid]) for tid in ids]
