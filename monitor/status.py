"""How far the pipeline has got: counts an operator (or the demo) can watch converge."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.models import Classification, IngestError, Post, Rollup, Source
from monitor.rollups import ALL


@dataclass(frozen=True)
class PipelineStatus:
    sources: int
    sources_unpolled: int
    posts: int
    classified: int
    antisemitic: int
    rollup_posts: int
    rollup_antisemitic: int
    errors: int

    @property
    def settled(self) -> bool:
        """Every source polled, every post classified, and the rollups agree with both."""
        return (self.sources_unpolled == 0 and self.classified == self.posts
                and self.rollup_posts == self.posts and self.rollup_antisemitic == self.antisemitic)


def pipeline_status(session: Session) -> PipelineStatus:
    """Counts across the stages of the pipeline."""
    rollup_posts, rollup_hostile = session.execute(
        select(func.coalesce(func.sum(Rollup.posts), 0), func.coalesce(func.sum(Rollup.antisemitic), 0))
        .where(Rollup.category == ALL, Rollup.trigger == ALL)
    ).one()
    return PipelineStatus(
        sources=session.scalar(select(func.count()).select_from(Source)) or 0,
        sources_unpolled=session.scalar(select(func.count()).select_from(Source).where(
            Source.enabled.is_(True), Source.last_polled_at.is_(None))) or 0,
        posts=session.scalar(select(func.count()).select_from(Post)) or 0,
        classified=session.scalar(select(func.count()).select_from(Classification)) or 0,
        antisemitic=session.scalar(select(func.count()).select_from(Classification).where(
            Classification.antisemitic.is_(True))) or 0,
        rollup_posts=int(rollup_posts),
        rollup_antisemitic=int(rollup_hostile),
        errors=session.scalar(select(func.count()).select_from(IngestError)) or 0,
    )


def country_summary(session: Session) -> list[tuple[str, int, int]]:
    """(country, posts, antisemitic) over all stored rollups."""
    rows = session.execute(
        select(Rollup.country, func.sum(Rollup.posts), func.sum(Rollup.antisemitic))
        .where(Rollup.category == ALL, Rollup.trigger == ALL)
        .group_by(Rollup.country).order_by(Rollup.country)
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]
