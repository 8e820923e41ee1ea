"""Row factories for tests: small, explicit, flushed but never committed."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from monitor.models import Classification, Post, Source
from monitor.privacy import content_hash

_seq = itertools.count(1)

KEY = b"test-pseudonym-key-not-a-secret"


def make_source(session: Session, country: str = "AM", kind: str = "file", **kw) -> Source:
    n = next(_seq)
    source = Source(name=kw.pop("name", f"src-{n}"), kind=kind, locator=kw.pop("locator", f"/tmp/src-{n}"),
                    country=country, poll_interval_s=kw.pop("poll_interval_s", 900),
                    enabled=kw.pop("enabled", True), consecutive_failures=0, **kw)
    session.add(source)
    session.flush()
    return source


def make_post(session: Session, source: Source, day: dt.date, text: str = "a post", *,
              hour: int = 12, country: str | None = None, classification: dict | None = None) -> Post:
    n = next(_seq)
    post = Post(source_id=source.id, external_id=f"p{n}", text=text, country=country or source.country,
                published_at=dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone.utc),
                content_hash=content_hash(text), language="en")
    session.add(post)
    session.flush()
    if classification is not None:
        values = {"model_version": "test", "antisemitic": False, "score": 0.1, "category": "none",
                  "triggers": []} | classification
        session.add(Classification(post_id=post.id, **values))
        session.flush()
    return post
