"""The generated background corpus and the no-target feature that keep ordinary ru/hy/en text from scoring high."""

import collections

import pytest

from classifiers.background import background_rows, background_sentences
from classifiers.data import mentions_heldout_rows, negations_heldout_rows, neutral_heldout_rows, seed_rows
from classifiers.features import TargetMention
from classifiers.normalize import normalize_text
from monitor.demo import texts as demo


def test_background_is_deterministic_distinct_and_neutral():
    assert background_sentences("ru", 50) == background_sentences("ru", 50)
    rows = background_rows({"ru": 300, "hy": 200, "en": 100}, mention_counts={"ru": 50, "de": 20})
    assert collections.Counter(r["lang"] for r in rows) == {"ru": 350, "hy": 200, "en": 100, "de": 20}
    assert {r["weight"] for r in rows if r["lang"] == "de"} == {5.0}  # mentions count like the seeds
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(not r["antisemitic"] and r["category"] == "none" and r["split"] == "train" for r in rows)
    assert not any("{" in r["text"] for r in rows)


def _demo_sentences() -> set[str]:
    out = set()
    for name in dir(demo):
        pool = getattr(demo, name)
        if name.isupper() and isinstance(pool, list) and pool and isinstance(pool[0], str):
            ru = name.endswith("_RU")
            cities = [c for cs in (demo.CITIES_RU if ru else demo.CITIES_EN).values() for c in cs]
            places = demo.PLACES_RU if ru else demo.PLACES_EN
            out |= {t.format(city=c, place=p).casefold() for t in pool for c in cities for p in places}
    return out


def test_demo_sentences_are_not_training_or_check_text():
    ours = {r["text"].casefold() for r in background_rows() + seed_rows() + neutral_heldout_rows()}
    assert not ours & _demo_sentences()


@pytest.mark.parametrize("read", [neutral_heldout_rows, mentions_heldout_rows, negations_heldout_rows])
def test_heldout_checks_are_never_trained_on(read):
    rows = read()
    assert {r["lang"] for r in rows} == {"ru", "hy", "en", "de"}
    assert all(r["split"] == "heldout" and not r["antisemitic"] for r in rows)
    trained = {r["text"].casefold() for r in background_rows() + seed_rows()}
    assert not {r["text"].casefold() for r in rows} & trained


@pytest.mark.parametrize("name", ["mentions_validation.jsonl", "negations_validation.jsonl"])
def test_the_validation_sets_are_neither_trained_on_nor_a_heldout_text(name):
    from pathlib import Path

    from classifiers.data import read_jsonl

    rows = read_jsonl(Path(__file__).parents[1] / "bench" / name)
    texts = {r["text"].casefold() for r in rows}
    assert len(texts) == len(rows) >= 30
    others = (background_rows() + seed_rows() + neutral_heldout_rows() + mentions_heldout_rows()
              + negations_heldout_rows())
    assert not texts & {r["text"].casefold() for r in others}


def test_target_mention_flags_posts_naming_no_target():
    texts = ["(((They))) run the banks", "Евреям не место здесь", "Հրեաները", "j3ws again", "Traffic in Gyumri",
             "Погода в Ереване", "Israeli drones", "Սևանում ձյուն է"]
    flags = TargetMention().transform([normalize_text(t) for t in texts]).toarray().ravel().tolist()
    assert flags == [0, 0, 0, 0, 1, 1, 0, 1]


def test_the_card_note_reads_each_kind_and_weight_from_the_rows():
    from classifiers.background import background_rows
    from classifiers.training import _background_note

    rows = background_rows(counts={"en": 10}, mention_counts={"de": 4}, mention_weight=3)
    assert _background_note(rows) == ("generated neutral sentences (ru/hy/en/de): 10 everyday at weight 1, "
                                      "4 ordinary mentions of Jews, Jewish life and Israel at weight 3")
