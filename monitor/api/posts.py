"""GET /posts and /posts/{id}: classified posts, filtered, paginated by id, with their labels."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.api.deps import Db, Principal, Viewer
from monitor.api.errors import not_found
from monitor.classification import has_trigger
from monitor.labels import disagree, labels_of
from monitor.models import Classification, Label, Post, Source
from monitor.privacy import excerpt

router = APIRouter(tags=["posts"])
VIEWER_EXCERPT = 280  # viewers read excerpts; analysts, who label, read the whole text


class ClassificationOut(BaseModel):
    antisemitic: bool
    score: float
    category: str
    triggers: list[str]
    model_version: str
    language_covered: bool
    classified_at: dt.datetime
    # The terms that most raised the score (flagged posts), as `vigil classify` gives them; null when the post
    # was classified before Vigil kept them
    explanation: list[str] | None = None


class LabelOut(BaseModel):
    id: int
    antisemitic: bool
    category: str
    triggers: list[str]
    note: str | None
    labelled_by: str
    created_at: dt.datetime


class PostOut(BaseModel):
    id: int
    country: str
    source_id: int
    source_kind: str
    language: str | None
    published_at: dt.datetime
    url: str | None
    title: str | None
    text: str
    author: str | None  # a keyed pseudonym, never the handle
    classification: ClassificationOut | None
    explanation: str | None
    labels: list[LabelOut]
    disputed: bool


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: int | None  # pass as `cursor` for the next page; None on the last


def explain(cls: Classification | None) -> str | None:
    """Why the post is flagged, in one line, from what the classification stored."""
    if cls is None:
        return None
    verdict = "antisemitic" if cls.antisemitic else "not antisemitic"
    parts = [f"{verdict} (score {cls.score:.2f}, model {cls.model_version})"]
    if cls.antisemitic and cls.category not in ("", "none"):
        parts.append(f"category {cls.category}")
    if cls.antisemitic and cls.explanation:
        parts.append("raised by " + ", ".join(f'"{term}"' for term in cls.explanation))
    if cls.triggers:
        parts.append("triggers " + ", ".join(cls.triggers))
    if not cls.language_covered:
        parts.append("language not covered by the model")
    return "; ".join(parts)


def visible_text(text: str, principal: Principal) -> str:
    """A post's text as this token may read it: whole for analysts (who label), an excerpt for viewers."""
    return text if principal.can("analyst") else excerpt(text, VIEWER_EXCERPT)


def post_out(post: Post, kind: str, cls: Classification | None, labels: list[Label], principal: Principal) -> PostOut:
    return PostOut(
        id=post.id, country=post.country, source_id=post.source_id, source_kind=kind, language=post.language,
        published_at=post.published_at, url=post.url, title=post.title, text=visible_text(post.text, principal),
        author=(post.author_pseudonym or None) and post.author_pseudonym[:12],
        classification=ClassificationOut.model_validate(cls, from_attributes=True) if cls else None,
        explanation=explain(cls), labels=[LabelOut.model_validate(lb, from_attributes=True) for lb in labels],
        disputed=disagree(labels),
    )


def find_posts(session: Session, principal: Principal, *, country: str | None = None, category: str | None = None,
               trigger: str | None = None, antisemitic: bool | None = None, language: str | None = None,
               source_kind: str | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None,
               min_score: float | None = None, cursor: int | None = None, limit: int = 50) -> PostPage:
    """A page of posts, newest id first, in the caller's scope."""
    query = (select(Post, Source.kind, Classification).join(Source, Source.id == Post.source_id)
             .outerjoin(Classification, Classification.post_id == Post.id))
    cc = principal.country_filter(country)
    if cc:
        query = query.where(Post.country == cc)
    if category:
        query = query.where(Classification.category == category)
    if trigger:
        query = query.where(has_trigger(session, trigger))
    if antisemitic is not None:
        # The bare column, not IS TRUE: PostgreSQL matches it to the partial index WHERE antisemitic.
        query = query.where(Classification.antisemitic if antisemitic else ~Classification.antisemitic)
    if language:
        query = query.where(Post.language == language)
    if source_kind:
        query = query.where(Source.kind == source_kind)
    if start:
        query = query.where(Post.published_at >= start)
    if end:
        query = query.where(Post.published_at < end)
    if min_score is not None:
        query = query.where(Classification.score >= min_score)
    if cursor is not None:
        # Antisemitic posts of a category are walked newest first in ix_classifications_antisemitic_category,
        # so the cursor bounds that walk. Bounding posts.id as well would be redundant and worse: the planner
        # would expect too few rows from the join and hash and sort them all instead of stopping at the limit.
        walk_classifications = bool(category) and antisemitic is True
        query = query.where((Classification.post_id if walk_classifications else Post.id) < cursor)
    rows = session.execute(query.order_by(Post.id.desc()).limit(limit)).all()
    labels = labels_of(session, [r[0].id for r in rows])
    items = [post_out(p, kind, cls, labels[p.id], principal) for p, kind, cls in rows]
    return PostPage(items=items, next_cursor=items[-1].id if len(items) == limit else None)


@router.get("/posts", response_model=PostPage)
def list_posts(
    request: Request, session: Db, principal: Viewer,
    country: Annotated[str | None, Query(max_length=2)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    trigger: Annotated[str | None, Query(max_length=64)] = None,
    antisemitic: bool | None = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    source_kind: Annotated[str | None, Query(max_length=20)] = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="capped by the server's page size")] = 50,
) -> PostPage:
    """Posts, newest first; follow `next_cursor` for the next page."""
    limit = min(limit, request.app.state.settings.api_page_size_max)
    return find_posts(session, principal, country=country, category=category, trigger=trigger,
                      antisemitic=antisemitic, language=language, source_kind=source_kind, start=start, end=end,
                      min_score=min_score, cursor=cursor, limit=limit)


def get_visible_post(session: Session, principal: Principal, post_id: int) -> Post:
    """The post, or 404; 403 when it lies outside the caller's scope."""
    post = session.get(Post, post_id)
    if post is None:
        raise not_found("post")
    principal.check_row(post.country)
    return post


@router.get("/posts/{post_id}", response_model=PostOut)
def get_post(session: Db, principal: Viewer, post_id: Annotated[int, Path(ge=1, le=2**62)]) -> PostOut:
    """One post with its classification, explanation and labels."""
    post = get_visible_post(session, principal, post_id)
    cls = session.scalar(select(Classification).where(Classification.post_id == post.id))
    return post_out(post, post.source.kind, cls, labels_of(session, [post.id])[post.id], principal)
