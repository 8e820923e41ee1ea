"""Emerging terms: words and phrases whose share among a country's antisemitic posts rose most
in a window against the weeks before it (log-odds with an informative Dirichlet prior, in
`classifiers.emerging`), so analysts see new drivers before they are in the trigger taxonomy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.emerging import emerging_terms, term_counts
from classifiers.taxonomy import Taxonomy
from monitor.classification import filter_clauses
from monitor.models import Classification, Post

MAX_POSTS = 5000  # antisemitic posts read per window at most; enough for stable counts
# A window with more posts is read as a sample spread over all of it, in the order of a multiplicative hash of
# the post id (Fibonacci hashing, 16 bits; no overflow below ids of 2 * 10^14): the most recent posts alone would
# read only the last days of a busy four-week baseline. The same posts are read on every run.
_SAMPLE_ORDER = (Post.id * 40503) % 65536


def _texts(session: Session, country: str, start: dt.datetime, end: dt.datetime,
           category: str | None, trigger: str | None) -> list[tuple[str, str | None]]:
    """(text, language) of the posts; filtered before the limit: at most MAX_POSTS posts *of this category or
    trigger*, spread over the window."""
    return list(session.execute(
        select(Post.text, Post.language).join(Classification, Classification.post_id == Post.id)
        .where(Post.country == country, Classification.antisemitic.is_(True),
               Post.published_at >= start, Post.published_at < end,
               *filter_clauses(session, category=category, trigger=trigger))
        .order_by(_SAMPLE_ORDER, Post.id).limit(MAX_POSTS)))


def emerging_for_country(
    session: Session,
    country: str,
    start: dt.datetime,
    end: dt.datetime,
    baseline_start: dt.datetime,
    *,
    category: str | None = None,
    trigger: str | None = None,
    top: int = 10,
    min_count: int = 3,
    taxonomy: Taxonomy | None = None,
) -> list[dict]:
    """Top rising terms of [start, end) against [baseline_start, start), among the antisemitic posts (of
    `category` and naming `trigger`, when given). With a trigger `taxonomy`, each term also says which of its
    triggers, active in the window, list it among their terms ("triggers"; [] for a driver the taxonomy does not
    know yet). A trigger that needs terms of two groups lists each of them: "israeli" is among several triggers'
    terms, though a post saying only that is tagged with none."""
    target = _texts(session, country, start, end, category, trigger)
    if len(target) < min_count:
        return []
    baseline = _texts(session, country, baseline_start, start, category, trigger)
    # Counted with each post's language, so each reads with its own function words.
    counts = [term_counts([text for text, _ in posts], languages=[lang for _, lang in posts])
              for posts in (target, baseline)]
    terms = emerging_terms(*counts, min_count=min_count, top=top)
    out = [{"term": t.term, "z": round(t.z, 1), "posts": t.target_count, "baseline_posts": t.baseline_count}
           for t in terms]
    if taxonomy is not None:  # the triggers active in the window whose terms include the term
        last_day = (end - dt.timedelta(microseconds=1)).date()  # `end` is exclusive
        active = [t for t in taxonomy.triggers if t.active_between(start.date(), last_day)]
        for row in out:
            row["triggers"] = [t.id for t in active if t.names_part(row["term"])]
    return out
