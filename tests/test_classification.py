"""The classification stage: each post is predicted once per model version, and a retry still reports its days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from monitor.classification import classify_posts
from monitor.models import Classification
from tests.factories import make_post, make_source

DAY = dt.date(2024, 2, 20)


class CountingModel:
    """A stand-in predictor (the real one is tested in tests/test_classifiers_*) that counts what it is asked."""

    def __init__(self, version: str):
        self.version = version
        self.seen: list[str] = []

    def predict(self, texts, languages=None):
        from classifiers.model import Prediction

        self.seen += texts
        return [Prediction(antisemitic="jews" in t, score=0.9 if "jews" in t else 0.1,
                           category="conspiracy" if "jews" in t else "none") for t in texts]


def test_a_retried_batch_predicts_nothing_again_but_still_reports_its_days(db_session):
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    posts = [make_post(db_session, am, DAY, "the jews run it"), make_post(db_session, am, DAY + dt.timedelta(days=1)),
             make_post(db_session, de, DAY)]
    ids = [p.id for p in posts]
    model = CountingModel("v1")
    first = classify_posts(db_session, ids, model)
    again = classify_posts(db_session, ids, model)  # the task redelivered after it committed
    expected = {"AM": {DAY, DAY + dt.timedelta(days=1)}, "DE": {DAY}}
    assert first == again == expected  # so its rollups are still sent on
    assert len(model.seen) == 3  # but nothing was predicted twice
    assert db_session.scalar(select(func.count()).select_from(Classification)) == 3

    newer = CountingModel("v2")
    assert classify_posts(db_session, ids[:1], newer) == {"AM": {DAY}}
    assert newer.seen == ["the jews run it"]
    assert db_session.scalar(select(Classification.model_version).where(Classification.post_id == ids[0])) == "v2"
