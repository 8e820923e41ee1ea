"""Labels: analysts tell Vigil where the classifier was right or wrong."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from monitor.api.deps import Analyst, Db, Viewer, audit
from monitor.api.errors import ApiError
from monitor.api.posts import LabelOut, get_visible_post
from monitor.labels import LabelError, add_label
from monitor.models import Label, Post

router = APIRouter(tags=["labels"])


class LabelIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    antisemitic: bool
    category: str | None = Field(default=None, max_length=32,
                                 description="an antisemitic category; omit when not antisemitic or unsure")
    triggers: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class LabelRow(LabelOut):
    post_id: int
    country: str


class LabelPage(BaseModel):
    items: list[LabelRow]
    next_cursor: int | None


@router.post("/posts/{post_id}/labels", response_model=LabelOut, status_code=201)
def label_post(request: Request, session: Db, principal: Analyst, body: LabelIn,
               post_id: Annotated[int, Path(ge=1, le=2**62)]) -> LabelOut:
    """Label a post (antisemitic or not, category, triggers, note) as the calling token."""
    post = get_visible_post(session, principal, post_id)
    try:
        label = add_label(session, post.id, body.antisemitic, body.category, body.triggers, body.note,
                          by=principal.name, token_id=principal.token_id)
    except LabelError as exc:
        raise ApiError(422, "invalid_label", str(exc)) from None
    audit(session, request, principal, "label.create", f"post:{post.id}",
          {"antisemitic": label.antisemitic, "category": label.category}, status=201)
    return LabelOut.model_validate(label, from_attributes=True)


@router.get("/labels", response_model=LabelPage)
def list_labels(
    request: Request, session: Db, principal: Viewer,
    country: Annotated[str | None, Query(max_length=2)] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> LabelPage:
    """Labels, newest first, in scope."""
    limit = min(limit, request.app.state.settings.api_page_size_max)
    query = select(Label, Post.country).join(Post, Post.id == Label.post_id).order_by(Label.id.desc()).limit(limit)
    cc = principal.country_filter(country)
    if cc:
        query = query.where(Post.country == cc)
    if cursor is not None:
        query = query.where(Label.id < cursor)
    rows = session.execute(query).all()
    items = [LabelRow(**LabelOut.model_validate(lb, from_attributes=True).model_dump(), post_id=lb.post_id,
                      country=c) for lb, c in rows]
    return LabelPage(items=items, next_cursor=items[-1].id if len(items) == limit else None)
