"""Analysts' labels on posts: stored with who and when, queued for review, exported for training.

A post may be labelled more than once (by several reviewers, or corrected); every label is kept, the
latest one counts for training, and posts whose reviewers disagree are listed for a second look.
"""

from __future__ import annotations

import datetime as dt
import random
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
                 days: int = 60) -> list[QueueItem]:
    """Unlabelled classified posts in `countries` (None: all), chosen to make each label count most.

    The most uncertain scores first, taken in turn from each (country, category) so that none crowds the others
    out: every group's own most uncertain posts are ranked in SQL, so a small country or a rare category is
    represented however many borderline posts a large one has. Then an audit sample of confident ones, one
    random post per group in turn, to check what the model is sure of in each.
    """
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    margin = func.abs(Classification.score - 0.5)
    filters = [Post.published_at >= since, ~exists().where(Label.post_id == Post.id)]
    if countries is not None:
        filters.append(Post.country.in_(list(countries)))
    doubtful = _per_group(session, [*filters, margin < CONFIDENT], (margin, Post.id.desc()), uncertain)
    picked = [QueueItem(post, cls, "uncertain") for post, cls in _in_turn(doubtful, uncertain)]
    sure = _per_group(session, [*filters, margin >= CONFIDENT], (func.random(),), audit)
    audited = _in_turn(sure, audit, by_uncertainty=False)
    return picked + [QueueItem(post, cls, "audit") for post, cls in audited]


def _per_group(session: Session, filters: list, order: tuple, per_group: int) -> dict[tuple[str, str], list]:
    """Up to `per_group` (post, classification) of each (country, category) meeting `filters`, in `order`."""
    rank = func.row_number().over(partition_by=(Post.country, Classification.category), order_by=order)
    ranked = (select(Post.id.label("post_id"), rank.label("rank"))
              .join(Classification, Classification.post_id == Post.id).where(*filters).subquery())
    rows = session.execute(
        select(Post, Classification).join(Classification, Classification.post_id == Post.id)
        .join(ranked, ranked.c.post_id == Post.id).where(ranked.c.rank <= per_group)
        .order_by(Post.country, Classification.category, ranked.c.rank)).all()
    groups: dict[tuple[str, str], list] = {}
    for post, cls in rows:
        groups.setdefault((post.country, cls.category), []).append((post, cls))
    return groups


def _in_turn(groups: dict[tuple[str, str], list], limit: int, by_uncertainty: bool = True) -> list:
    """Up to `limit` rows taken one per group in turn; each round starts with the group whose next row is the
    most uncertain (or, for the audit sample, goes through the groups in a random order)."""
    picked: list = []
    order = list(groups)
    if not by_uncertainty:
        random.shuffle(order)
    while len(picked) < limit and any(groups.values()):
        if by_uncertainty:
            order.sort(key=lambda k: (abs(groups[k][0][1].score - 0.5), k) if groups[k] else (1, k))
        for key in order:
            if groups[key] and len(picked) < limit:
                picked.append(groups[key].pop(0))
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
