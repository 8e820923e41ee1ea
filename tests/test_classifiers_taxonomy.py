"""Trigger taxonomy: inflection-aware terms, requires_all groups, dates, and YAML edits taking effect."""

import datetime as dt
import textwrap

import pytest

from classifiers.data import seed_rows
from classifiers.taxonomy import load_taxonomy, parse_taxonomy, tag_triggers
from classifiers.trigger_learner import trigger_scores

TAX = load_taxonomy()


def test_packaged_ids():
    assert {"israel_azerbaijan_ties", "gaza_war", "nagorno_karabakh", "iran_israel_conflict",
            "holocaust_remembrance"} <= set(TAX.ids)


@pytest.mark.parametrize("text", [
    "Israel sold Harop drones to Azerbaijan",
    "Aliyev thanked the Israeli president for the drones",
    "Израильские беспилотники были проданы Азербайджану",
    "Поставки из Израиля в Баку выросли",
    "Алиевым подписан контракт с израильской компанией",
    "Իսրայելը դրոններ է վաճառել Ադրբեջանին",
    "Բաքվի և Իսրայելի համաձայնագիրը",
])
def test_israel_azerbaijan_ties_matches_inflected_forms(text):
    assert "israel_azerbaijan_ties" in tag_triggers(text, TAX)


@pytest.mark.parametrize("text", [
    "Israel sold drones to several countries",  # no Azerbaijan side
    "Azerbaijan bought drones from Turkey",  # no Israel side
    "Азербайджан закупил оружие",
    "Իսրայելը նոր դրոններ է գնել",
])
def test_requires_all_needs_both_sides(text):
    assert "israel_azerbaijan_ties" not in tag_triggers(text, TAX)


def test_word_boundaries_and_stems():
    assert tag_triggers("Войска вошли в Карабах", TAX) == ["nagorno_karabakh"]
    assert "nagorno_karabakh" in tag_triggers("в Нагорном Карабахе", TAX)
    assert "nagorno_karabakh" in tag_triggers("Արցախում", TAX)
    assert tag_triggers("цены газа растут", TAX) == []  # Russian gas is not Gaza
    assert tag_triggers("Holocausts of stamps", TAX) == ["holocaust_remembrance"]
    assert tag_triggers("xkarabakh", TAX) == []  # not a word start


def test_gaza_war_active_from():
    text = "Strikes hit Rafah overnight"
    assert tag_triggers(text, TAX) == ["gaza_war"]
    assert tag_triggers(text, TAX, on_date=dt.date(2023, 10, 8)) == ["gaza_war"]
    assert tag_triggers(text, TAX, on_date=dt.date(2021, 5, 10)) == []


def test_obfuscated_text_is_normalised_before_matching():
    assert "holocaust_remembrance" in tag_triggers("the H0L0CAUST", TAX)


def test_editing_the_yaml_changes_tagging(tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text(textwrap.dedent("""
        triggers:
          - id: football
            label: Football
            terms: {en: [football*], ru: [футбол*], hy: [ֆուտբոլ*]}
    """), encoding="utf-8")
    text = "Футболисты Армении и Израиля"
    assert tag_triggers(text, load_taxonomy(path)) == ["football"]
    path.write_text(path.read_text(encoding="utf-8").replace("футбол*", "хоккей*"), encoding="utf-8")
    assert tag_triggers(text, load_taxonomy(path)) == []


@pytest.mark.parametrize("bad", [
    {"triggers": [{"id": "x"}]},
    {"triggers": [{"id": "x", "terms": {"fr": ["a"]}}]},
    {"triggers": [{"id": "x", "terms": ["a"]}, {"id": "x", "terms": ["b"]}]},
    {"triggers": [{"id": "x", "terms": ["a"], "active_from": "yesterday"}]},
])
def test_bad_taxonomy_is_refused(bad):
    with pytest.raises(ValueError):
        parse_taxonomy(bad)


def test_seed_trigger_labels_use_taxonomy_ids_and_the_terms_rarely_contradict_them():
    """Seed rows are labelled by meaning, so the terms may miss oblique mentions (the learned part's job);
    but a term hit the analyst did not label is a term that fires on the wrong posts."""
    ids = set(TAX.ids)
    labelled = [r for r in seed_rows() if "triggers" in r]
    assert labelled
    for row in labelled:
        assert set(row["triggers"]) <= ids, row["triggers"]
    scores = trigger_scores([r["triggers"] for r in labelled], [tag_triggers(r["text"], TAX) for r in labelled])
    assert scores["precision"] >= 0.9, scores


def test_tag_batch_agrees_with_each_text():
    from classifiers.normalize import normalize_batch, normalize_text
    from classifiers.taxonomy import tag_batch, tag_normalized

    texts = ["Israel sold Harop drones to Azerbaijan", "", "Strikes hit Rafah overnight", "цены газа растут",
             "Войска вошли в Карабах", "the H0L0CAUST", "Israel sold Harop drones to Azerbaijan", "Nagorno-Karabakh"]
    dates = [None, None, dt.date(2021, 5, 10), None, dt.date(2024, 1, 1), None, dt.date(2021, 5, 10), None]
    expected = [tag_normalized(normalize_text(t), TAX, d) for t, d in zip(texts, dates, strict=True)]
    assert tag_batch(normalize_batch(texts), TAX, dates) == expected
    assert tag_batch([normalize_text(t) for t in texts], TAX, dates) == expected
    assert expected[0] == ["israel_azerbaijan_ties"] and expected[2] == []
    assert tag_batch([], TAX) == []
