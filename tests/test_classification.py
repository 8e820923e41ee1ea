"""The classification stage: each post is predicted once per model version, and a retry still reports its days."""

from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

from sqlalchemy import func, select

from monitor.classification import (
    classify_posts,
    posts_needing_classification,
    reclassification_backlog,
    stranded_post_ids,
)
from monitor.models import Classification
from tests.factories import make_post, make_source

DAY = dt.date(2024, 2, 20)
T1 = SimpleNamespace(digest="t1")  # a stand-in taxonomy: only its digest is stored


class CountingModel:
    """A stand-in predictor (the real one is tested in tests/test_classifiers_*) that counts what it is asked."""

    def __init__(self, version: str):
        self.version = version
        self.seen: list[str] = []
        self.dates: list[dt.date] = []

    def predict(self, texts, languages=None, *, dates=None, taxonomy=None):
        from classifiers.model import Prediction

        assert taxonomy is not None  # the one whose digest is stored
        self.seen += texts
        self.dates += dates
        return [Prediction(antisemitic="jews" in t, score=0.9 if "jews" in t else 0.1,
                           category="conspiracy" if "jews" in t else "none",
                           explanation=["jews", "run it"] if "jews" in t else []) for t in texts]


def test_a_retried_batch_predicts_nothing_again_but_still_reports_its_days(db_session):
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    posts = [make_post(db_session, am, DAY, "the jews run it"), make_post(db_session, am, DAY + dt.timedelta(days=1)),
             make_post(db_session, de, DAY)]
    ids = [p.id for p in posts]
    model = CountingModel("v1")
    first = classify_posts(db_session, ids, model, T1)
    again = classify_posts(db_session, ids, model, T1)  # the task redelivered after it committed
    expected = {"AM": {DAY, DAY + dt.timedelta(days=1)}, "DE": {DAY}}
    assert first == again == expected  # so its rollups are still sent on
    assert len(model.seen) == 3  # but nothing was predicted twice
    assert db_session.scalar(select(func.count()).select_from(Classification)) == 3

    stored = dict(db_session.execute(select(Classification.post_id, Classification.explanation)).all())
    assert stored == {ids[0]: ["jews", "run it"], ids[1]: [], ids[2]: []}  # why the flagged post was flagged
    from monitor.api.posts import explain

    assert explain(db_session.scalar(select(Classification).where(Classification.post_id == ids[0]))) == (
        'antisemitic (score 0.90, model v1); category conspiracy; raised by "jews", "run it"')

    newer = CountingModel("v2")
    assert classify_posts(db_session, ids[:1], newer, T1) == {"AM": {DAY}}
    assert newer.seen == ["the jews run it"]
    assert db_session.scalar(select(Classification.model_version).where(Classification.post_id == ids[0])) == "v2"


def test_an_edited_taxonomy_has_stored_posts_tagged_again_once(db_session):
    source = make_source(db_session, country="AM")
    ids = [make_post(db_session, source, DAY, f"post {n}").id for n in range(3)]
    model = CountingModel("v1")
    classify_posts(db_session, ids, model, T1)
    assert posts_needing_classification(db_session, "v1", "t1") == []
    assert posts_needing_classification(db_session, "v1", "t2") == ids  # the YAML was edited since
    assert posts_needing_classification(db_session, "v2", "t1") == ids  # the model changed

    edited = CountingModel("v1")
    t2 = SimpleNamespace(digest="t2")
    assert classify_posts(db_session, ids[:2], edited, t2) == {"AM": {DAY}}  # rollups follow
    assert classify_posts(db_session, ids[:2], edited, t2) == {"AM": {DAY}}  # redelivered: nothing predicted again
    assert edited.seen == ["post 0", "post 1"]
    assert posts_needing_classification(db_session, "v1", "t2") == ids[2:]
    digests = dict(db_session.execute(select(Classification.post_id, Classification.taxonomy_digest)).all())
    assert digests == {ids[0]: "t2", ids[1]: "t2", ids[2]: "t1"}
    make_post(db_session, source, DAY, "not classified yet")
    assert reclassification_backlog(db_session, "v1", "t2") == {
        "unclassified": 1, "other model": 0, "other trigger taxonomy": 1}
    assert reclassification_backlog(db_session, "v2", "t2") == {
        "unclassified": 1, "other model": 3, "other trigger taxonomy": 0}


def test_a_term_added_to_the_yaml_reaches_stored_posts_when_they_are_classified_again(db_session, tmp_path):
    from classifiers.artifacts import load_model
    from monitor.config import Settings
    from monitor.triggers import current_taxonomy

    source = make_source(db_session, country="AM")
    post = make_post(db_session, source, DAY, "Tickets for the Gyumri jazz festival sold out")
    settings = Settings(triggers_file=tmp_path / "triggers.yaml")
    settings.triggers_file.write_text("triggers:\n  - id: sport\n    terms: {en: [football]}\n", encoding="utf-8")
    model = load_model()
    first = current_taxonomy(settings)
    classify_posts(db_session, [post.id], model, first)
    assert db_session.scalar(select(Classification.triggers)) == []
    settings.triggers_file.write_text("triggers:\n  - id: sport\n    terms: {en: [football]}\n"
                                      "  - id: festivals\n    terms: {en: [festival*]}\n", encoding="utf-8")
    os.utime(settings.triggers_file, ns=(0, 1))  # a new modification time however coarse the file system's clock
    second = current_taxonomy(settings)
    assert first.digest != second.digest
    assert posts_needing_classification(db_session, model.version, second.digest) == [post.id]
    classify_posts(db_session, [post.id], model, second)
    stored = db_session.execute(select(Classification.triggers, Classification.taxonomy_digest)).one()
    assert tuple(stored) == (["festivals"], second.digest)


def test_each_post_is_predicted_with_its_date_so_dated_triggers_apply(db_session):
    from classifiers.artifacts import load_model
    from classifiers.taxonomy import parse_taxonomy

    source = make_source(db_session, country="AM")
    text = "Israel sold Azerbaijan the drones that hit Stepanakert"
    before, after = make_post(db_session, source, DAY, text), make_post(db_session, source, DAY + dt.timedelta(days=2), text)
    counting = CountingModel("v1")
    classify_posts(db_session, [before.id, after.id], counting, T1)
    assert counting.dates == [DAY, DAY + dt.timedelta(days=2)]
    dated = parse_taxonomy({"triggers": [{"id": "israel_azerbaijan_ties", "terms": {"en": ["drones"]},
                                          "active_to": (DAY + dt.timedelta(days=1)).isoformat()}]})
    db_session.execute(Classification.__table__.delete())
    classify_posts(db_session, [before.id, after.id], load_model(), dated)
    triggers = dict(db_session.execute(select(Classification.post_id, Classification.triggers)).all())
    assert triggers == {before.id: ["israel_azerbaijan_ties"], after.id: []}  # ended the day before


def test_stranded_posts_are_the_unclassified_ones_collected_in_the_window(db_session):
    source = make_source(db_session, country="AM")
    now = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    ages = {"classified": 2, "stranded": 2, "stranded too": 30, "still queued": 0.05, "too old": 72}
    posts = {}
    for name, hours in ages.items():
        post = make_post(db_session, source, now.date(), name,
                         classification={} if name == "classified" else None)
        post.collected_at = now - dt.timedelta(hours=hours)
        posts[name] = post.id
    db_session.flush()
    window = {"collected_after": now - dt.timedelta(hours=48), "collected_before": now - dt.timedelta(minutes=10)}

    assert stranded_post_ids(db_session, **window) == [posts["stranded"], posts["stranded too"]]
    # Paged by id, as the sweep reads them.
    first = stranded_post_ids(db_session, **window, limit=1)
    assert first == [posts["stranded"]]
    assert stranded_post_ids(db_session, **window, after_id=first[-1]) == [posts["stranded too"]]


def test_comparing_taxonomies_on_postgresql_tags_the_posts_chunk_by_chunk(db_session, monkeypatch):
    from classifiers import normalize
    from classifiers.taxonomy import load_taxonomy, parse_taxonomy
    from monitor.triggers import compare_taxonomies

    chunks = []
    normalize_batch = normalize.normalize_batch
    monkeypatch.setattr(normalize, "normalize_batch", lambda texts: chunks.append(len(texts)) or normalize_batch(texts))

    source = make_source(db_session, country="AM")
    today = dt.datetime.now(dt.timezone.utc).date()
    for n in range(5):
        make_post(db_session, source, today, f"Drones over Stepanakert, day {n}",
                  classification={"antisemitic": n < 2})
    edited = parse_taxonomy({"triggers": [{"id": "drones", "terms": {"en": ["drone*"]}}]})
    read, changes = compare_taxonomies(db_session, load_taxonomy(), edited, chunk=2,
                                       since=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
    by_id = {c.trigger: c for c in changes}
    assert read == 5 and chunks == [2, 2, 1] and db_session.get_bind().dialect.name == "postgresql"
    assert (by_id["drones"].edited, by_id["drones"].gained, by_id["drones"].edited_antisemitic) == (5, 5, 2)
    assert (by_id["nagorno_karabakh"].now, by_id["nagorno_karabakh"].lost, by_id["nagorno_karabakh"].now_antisemitic) \
        == (5, 5, 2)  # in the list in use, gone from the edited one
