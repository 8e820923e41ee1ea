"""Analysts' labels on posts: stored with who and when, queued for review, exported for training.

A post may be labelled more than once (by several reviewers, or corrected); every label is kept, the
latest one counts for training, and posts whose reviewers disagree are listed for a second look.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from monitor.models import Classification, Label, Post

NOT_ANTISEMITIC = "none"
TRIGGER_ID = re.compile(r"^[a-z0-9_]{1,64}$")
NOTE_CHARS = 2000
CONFIDENT = 0.4  # scores this far from 0.5 (below 0.1 or from 0.9) are confident: audited, not queued first


class LabelError(ValueError):
    """A label that contradicts itself or names an unknown category or trigger."""


def label_categories() -> tuple[str, ...]:
    """The categories an antisemitic post can be labelled with."""
    from classifiers.categories import ANTISEMITIC_CATEGORIES

    return ANTISEMITIC_CATEGORIES


def _trigger_ids() -> set[str] | None:
    try:
        from monitor.triggers import current_taxonomy

        return {t.id for t in current_taxonomy().triggers}
    except (ImportError, OSError, ValueError):  # the taxonomy is being edited elsewhere: check the id format only
        return None


def check_label(antisemitic: bool, category: str | None, triggers: Sequence[str]) -> tuple[str, list[str]]:
    """The stored (category, triggers) of a label, or LabelError.

    Not antisemitic: category "none". Antisemitic: one of the antisemitic categories, or "" when the
    analyst is sure of the label but not of the category (training accepts that).
    """
    if not antisemitic:
        if category not in (None, "", NOT_ANTISEMITIC):
            raise LabelError(f"a post that is not antisemitic has no category (got {category!r})")
        category = NOT_ANTISEMITIC
    elif category in (None, ""):
        category = ""
    elif category not in label_categories():
        raise LabelError(f"unknown category {category!r}")
    known = _trigger_ids()
    clean = list(dict.fromkeys(triggers))
    for trigger in clean:
        if not TRIGGER_ID.match(trigger) or (known is not None and trigger not in known):
            raise LabelError(f"unknown trigger {trigger[:64]!r}")
    return category, clean


def add_label(session: Session, post_id: int, antisemitic: bool, category: str | None = None,
              triggers: Sequence[str] = (), note: str | None = None, *, by: str,
              token_id: int | None = None) -> Label:
    """Record one analyst's label of a post."""
    category, triggers = check_label(antisemitic, category, triggers)
    label = Label(post_id=post_id, antisemitic=antisemitic, category=category, triggers=triggers,
                  note=(note or "").strip()[:NOTE_CHARS] or None, labelled_by=by[:200], token_id=token_id,
                  created_at=dt.datetime.now(dt.timezone.utc))
    session.add(label)
    session.flush()
    return label


def labels_of(session: Session, post_ids: Sequence[int]) -> dict[int, list[Label]]:
    """{post id: its labels, oldest first} for the given posts."""
    out: dict[int, list[Label]] = {i: [] for i in post_ids}
    if post_ids:
        for label in session.scalars(select(Label).where(Label.post_id.in_(list(post_ids)))
                                     .order_by(Label.created_at, Label.id)):
            out[label.post_id].append(label)
    return out


def disagree(labels: Sequence[Label]) -> bool:
    """True when reviewers' latest verdicts on one post differ (antisemitic or category)."""
    latest: dict[str, Label] = {}
    for label in labels:
        latest[label.labelled_by] = label
    return len({(lb.antisemitic, lb.category) for lb in latest.values()}) > 1


@dataclass(frozen=True)
class QueueItem:
    """A post waiting for review, with its classification and why it was chosen."""

    post: Post
    classification: Classification
    reason: str  # uncertain | audit


def review_queue(session: Session, countries: Sequence[str] | None, *, uncertain: int = 20, audit: int = 5,
                 days: int = 60, pool: int = 400) -> list[QueueItem]:
    """Unlabelled classified posts in `countries` (None: all), chosen to make each label count most.

    The most uncertain scores first, taken in turn from each (country, category) so that none
    crowds the others out, then a random sample of confident ones to audit what the model is sure of.
    """
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    base = (select(Post, Classification).join(Classification, Classification.post_id == Post.id)
            .where(Post.published_at >= since, ~exists().where(Label.post_id == Post.id)))
    if countries is not None:
        base = base.where(Post.country.in_(list(countries)))
    margin = func.abs(Classification.score - 0.5)
    rows = session.execute(base.where(margin < CONFIDENT).order_by(margin, Post.id.desc()).limit(pool)).all()
    groups: dict[tuple[str, str], list] = {}
    for post, cls in rows:
        groups.setdefault((post.country, cls.category), []).append((post, cls))
    picked: list[QueueItem] = []
    while len(picked) < uncertain and any(groups.values()):
        for key in sorted(groups, key=lambda k: abs(groups[k][0][1].score - 0.5) if groups[k] else 1):
            if groups[key] and len(picked) < uncertain:
                post, cls = groups[key].pop(0)
                picked.append(QueueItem(post, cls, "uncertain"))
    confident = session.execute(base.where(margin >= CONFIDENT).order_by(func.random()).limit(audit)).all()
    picked += [QueueItem(post, cls, "audit") for post, cls in confident]
    return picked


def disputed_posts(session: Session, countries: Sequence[str] | None, limit: int = 20) -> list[int]:
    """Ids of posts whose reviewers' latest labels differ in verdict or category (`disagree`, the rule the API's
    `disputed` flag uses), newest first; all in SQL, over each reviewer's latest label of each post."""
    latest = select(func.max(Label.id).label("id")).group_by(Label.post_id, Label.labelled_by).subquery()
    differ = func.count(func.distinct(Label.antisemitic)) + func.count(func.distinct(Label.category)) > 2
    query = (select(Label.post_id).join(latest, latest.c.id == Label.id).join(Post, Post.id == Label.post_id)
             .group_by(Label.post_id)
             .having(and_(func.count() > 1, differ))
             .order_by(func.max(Label.created_at).desc(), Label.post_id.desc()).limit(limit))
    if countries is not None:
        query = query.where(Post.country.in_(list(countries)))
    return list(session.scalars(query))


def export_labels(session: Session, batch: int = 1000) -> Iterator[dict]:
    """Training rows {"text", "antisemitic", "lang", "category", "triggers"}, one per labelled post, from
    its latest label; streamed in id order."""
    latest = (select(Label.post_id, func.max(Label.id).label("label_id")).group_by(Label.post_id).subquery())
    query = (select(Post.text, Post.language, Label.antisemitic, Label.category, Label.triggers)
             .join(latest, latest.c.post_id == Post.id)
             .join(Label, and_(Label.id == latest.c.label_id))
             .order_by(Post.id)
             .execution_options(yield_per=batch))
    for row in session.execute(query):
        yield {"text": row.text, "antisemitic": row.antisemitic, "lang": row.language,
               "category": row.category, "triggers": list(row.triggers or [])}
