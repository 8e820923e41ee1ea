"""Analysts' reviewed labels in training: a held-out slice never trained on, and the card's before/after comparison."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from classifiers import training
from classifiers.data import read_jsonl, text_group
from classifiers.training import (
    REVIEW_HELDOUT_PERCENT,
    reviewed_rows,
    split_reviews,
    train_and_evaluate,
)
from monitor.labels import add_label
from tests.factories import make_post, make_source

FIXTURES = Path(__file__).parent / "fixtures" / "classifiers"
TINY = {"word_bits": 12, "char_bits": 12, "min_rows_per_language": 4}
ANTISEMITIC = ["the jews run the media cartel", "jewish bankers caused the war", "zionists poison the wells",
               "the jews are behind every crisis", "jews cannot be loyal citizens", "the holocaust is a jewish lie",
               "rich jews buy every election", "the jewish lobby owns congress", "jews killed the prophets",
               "The Jews control the press"]  # the last one copies a held-out fixture row: never trained on
NEUTRAL = ["the synagogue hosts a book fair", "israel and jordan sign a water deal", "the council debates the budget",
           "jewish students open a food bank", "the bank raised its interest rate",
           "critics question the government plan", "hanukkah lights in the city square",
           "the election was close this year", "the museum opens a new wing", "a rabbi and an imam run a marathon"]


def held_out(text: str) -> bool:
    return int(text_group(text)[:8], 16) % 100 < REVIEW_HELDOUT_PERCENT


def store_labels(session) -> None:
    src = make_source(session, country="AM")
    day = dt.date.today()
    for text in ANTISEMITIC:
        add_label(session, make_post(session, src, day, text).id, True, "conspiracy", by="ann")
    for text in NEUTRAL:
        post = make_post(session, src, day, text)
        add_label(session, post.id, True, by="bob")
        add_label(session, post.id, False, by="ann")  # the later label counts


def test_split_reviews_is_by_text_and_keeps_evaluation_text_out_of_training():
    rows = [{"text": t, "antisemitic": True} for t in ANTISEMITIC + [t.upper() for t in ANTISEMITIC]]
    train_part, heldout, dropped = split_reviews(rows, evaluated=[{"text": "the jews control the press"}],
                                                 trained=[{"text": "jews killed the prophets"}])
    assert all(not held_out(r["text"]) for r in train_part) and all(held_out(r["text"]) for r in heldout)
    assert {r["split"] for r in train_part} == {"train"} and {r["split"] for r in heldout} == {"heldout"}
    trained_texts = {r["text"].casefold() for r in train_part}
    assert not trained_texts & {r["text"].casefold() for r in heldout}  # a retweet never straddles the split
    assert "the jews control the press" not in trained_texts  # a copy of an evaluation row
    assert "jews killed the prophets" not in {r["text"].casefold() for r in heldout}  # held out yet already trained
    assert dropped == 4 and len(train_part) + len(heldout) + dropped == len(rows)
    _, again_heldout, _ = split_reviews(list(reversed(rows)), evaluated=[], trained=[])
    assert {r["text"] for r in again_heldout} == {r["text"] for r in rows if held_out(r["text"])}  # text alone


def test_training_with_reviews_holds_some_out_and_records_the_score_change(db_session, tmp_path, monkeypatch):
    store_labels(db_session)
    reviews = reviewed_rows(db_session)
    assert len(reviews) == 20 and {r["source"] for r in reviews} == {"reviews"}
    assert not any(r["antisemitic"] for r in reviews if r["text"] in NEUTRAL)

    fits = []
    real_train = training.train

    def spy(rows, *, validation=None, **kw):
        rows = list(rows)
        fits.append({r["text"] for r in rows} | {r["text"] for r in validation or []})
        return real_train(rows, validation=validation, **kw)

    monkeypatch.setattr(training, "train", spy)
    _, scores = train_and_evaluate(read_jsonl(FIXTURES / "tiny_train.jsonl"), tmp_path, background=False,
                                   reviews=reviews, **TINY)

    expected_heldout = {t for t in ANTISEMITIC + NEUTRAL if held_out(t)}
    expected_train = {t for t in ANTISEMITIC + NEUTRAL if not held_out(t)} - {"The Jews control the press"}
    assert len(fits) == 2  # with the reviews, then the same configuration without them
    with_reviews, without = fits
    assert expected_train <= with_reviews and not expected_train & without
    assert not expected_heldout & (with_reviews | without)
    assert "The Jews control the press" not in with_reviews

    card = json.loads((tmp_path / "card.json").read_text())
    reviewed = card["reviews"]
    assert (reviewed["train"], reviewed["heldout"], reviewed["dropped_overlap"]) == (len(expected_train),
                                                                                     len(expected_heldout), 1)
    assert card["scores"]["reviews-heldout"]["rows"] == len(expected_heldout) == scores["reviews-heldout"]["rows"]
    comparison = reviewed["comparison"]
    assert {"reviews-heldout", "heldout"} <= set(comparison)
    for c in comparison.values():
        for metric in ("precision", "recall", "f1", "auc"):
            assert c["change"][metric] == round(c["after"][metric] - c["before"][metric], 4)
    assert comparison["heldout"]["after"] == card["scores"]["heldout"]
    assert any("reviewed labels" in d["name"] for d in card["training_data"])
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert "## Analysts' reviewed labels" in text and "| reviews-heldout |" in text


def write_isca(path: Path) -> Path:
    """A small stand-in for GoldStandard2024.csv: train years 2019-2021, test years 2022-2023."""
    things = ["banks", "media", "press", "courts", "schools", "films", "markets", "unions", "farms", "ports"]
    lines = ["Text,Biased,CreateDate"]
    for year in (2020, 2021, 2022):
        for i, thing in enumerate(things):
            lines += [f"the jews control the {thing} {year} {i},1,{year}-03-01",
                      f"the council funds the {thing} {year} {i},0,{year}-03-01"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_with_isca_the_comparison_covers_the_temporal_test_split(db_session, tmp_path):
    store_labels(db_session)
    train_and_evaluate(read_jsonl(FIXTURES / "tiny_train.jsonl"), tmp_path / "m", background=False,
                       isca=write_isca(tmp_path / "isca.csv"), reviews=reviewed_rows(db_session), **TINY)
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    comparison = card["reviews"]["comparison"]
    assert {"isca-temporal", "reviews-heldout"} <= set(comparison)
    assert comparison["isca-temporal"]["after"] == card["scores"]["isca-temporal"]
    assert comparison["isca-temporal"]["before"]["rows"] == 20


def test_no_compare_trains_once(db_session, tmp_path, monkeypatch):
    store_labels(db_session)
    calls = []
    real_train = training.train
    monkeypatch.setattr(training, "train", lambda *a, **kw: calls.append(1) or real_train(*a, **kw))
    train_and_evaluate(read_jsonl(FIXTURES / "tiny_train.jsonl"), tmp_path, background=False,
                       reviews=reviewed_rows(db_session), compare=False, **TINY)
    card = json.loads((tmp_path / "card.json").read_text())
    assert len(calls) == 1 and card["reviews"]["comparison"] is None
    assert "No before/after comparison" in (tmp_path / "MODEL_CARD.md").read_text()


def test_vigil_train_with_reviews_reads_the_configured_database(tmp_path):
    from alembic import command

    from migrations import alembic_config
    from monitor.cli import app
    from monitor.config import Settings, get_settings, use_settings
    from monitor.db import session_factory

    use_settings(Settings(data_dir=tmp_path / "data"))
    try:
        (tmp_path / "data").mkdir()
        command.upgrade(alembic_config(get_settings().sqlalchemy_url), "head")
        with session_factory(get_settings().sqlalchemy_url).begin() as session:
            store_labels(session)
        result = CliRunner().invoke(app, ["train", str(FIXTURES / "tiny_train.jsonl"), "--out", str(tmp_path / "m"),
                                          "--no-background", "--with-reviews", "--no-compare"])
        assert result.exit_code == 0, result.output
        assert "reviewed labels: " in result.output
        assert json.loads((tmp_path / "m" / "card.json").read_text())["reviews"]["train"] > 0
    finally:
        use_settings(None)
