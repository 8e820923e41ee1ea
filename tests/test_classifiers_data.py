"""Seed rows, JSONL validation, the deterministic held-out split and the ISCA adapter."""

import collections
import json

import pytest

from classifiers.categories import ANTISEMITIC_CATEGORIES
from classifiers.data import (
    TOXIGEN_OTHER_TARGET_WEIGHT,
    check_row,
    hash_split,
    isca_temporal,
    read_jsonl,
    seed_rows,
    toxigen_rows,
)


def test_seeds_cover_every_category_and_language():
    rows = seed_rows()
    per_category = collections.Counter(r["category"] for r in rows if r["antisemitic"])
    assert all(per_category[c] >= 15 for c in ANTISEMITIC_CATEGORIES), per_category
    langs = collections.Counter((r["lang"], r["antisemitic"]) for r in rows)
    assert all(langs[(lang, label)] >= 10 for lang in ("en", "ru", "hy") for label in (True, False)), langs
    assert len({r["text"] for r in rows}) == len(rows)


def test_heldout_split_is_deterministic_and_used():
    rows = seed_rows()
    assert all(r["split"] == hash_split(r["text"]) for r in rows)
    heldout = seed_rows("heldout")
    assert 0.1 < len(heldout) / len(rows) < 0.3
    assert not {r["text"] for r in heldout} & {r["text"] for r in seed_rows("train")}


@pytest.mark.parametrize(("row", "message"), [
    ({"antisemitic": True}, "missing text"),
    ({"text": "x", "antisemitic": "maybe"}, "true/false"),
    ({"text": "x", "antisemitic": False, "category": "conspiracy"}, "non-antisemitic"),
    ({"text": "x", "antisemitic": True, "category": "rudeness"}, "unknown category"),
])
def test_bad_rows_are_refused(row, message):
    with pytest.raises(ValueError, match=message):
        check_row(row)


def test_read_jsonl(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"text": "a", "antisemitic": 1, "category": "dual_loyalty", "split": "heldout"})
                    + "\n\n" + json.dumps({"text": "b", "antisemitic": False}) + "\n", encoding="utf-8")
    first, second = read_jsonl(path)
    assert first["antisemitic"] is True and first["split"] == "heldout" and first["category"] == "dual_loyalty"
    assert second["category"] == "none" and second["source"] == "rows.jsonl"


def test_isca_temporal_split_ignores_keyword(tmp_path):
    path = tmp_path / "GoldStandard2024.csv"
    path.write_text(
        "ID,Username,CreateDate,Biased,Keyword,Text\n"
        "1,u,2019-03-01 10:00:00+00:00,1,Kikes,first synthetic row\n"
        "2,u,2021-12-31 23:00:00+00:00,0,Israel,second synthetic row\n"
        "3,u,2022-01-01 00:00:00+00:00,0,Jews,third synthetic row\n", encoding="utf-8")
    train, test = isca_temporal(tmp_path)
    assert [r["text"] for r in train] == ["first synthetic row", "second synthetic row"]
    assert [r["text"] for r in test] == ["third synthetic row"]
    assert train[0]["antisemitic"] is True and "Keyword" not in train[0] and "keyword" not in train[0]


def test_toxigen_rows_label_by_target_and_toxicity(tmp_path):
    """About Jews: toxic (>= 3) antisemitic if it names its target, benign (<= 2) not; other groups: only toxic
    ones naming no Jewish target, as not, down-weighted; scores in between are dropped."""
    path = tmp_path / "toxigen_annotated_train.csv"
    path.write_text(
        "text,target_group,toxicity_human\n"
        '" synthetic hostile statement about jews",jewish,4.333\n'
        "synthetic benign statement about jews,jewish,1.0\n"
        "synthetic unclear statement about jews,jewish,2.5\n"
        "synthetic hostile statement naming nobody,jewish,4.0\n"
        "synthetic hostile statement about women,women,3.0\n"
        "synthetic hostile statement about jews filed under women,women,4.0\n"
        "synthetic benign statement about women,women,1.2\n", encoding="utf-8")
    rows = toxigen_rows(tmp_path)
    assert [(r["text"], r["antisemitic"], r["weight"]) for r in rows] == [
        ("synthetic hostile statement about jews", True, 1.0),
        ("synthetic benign statement about jews", False, 1.0),
        ("synthetic hostile statement about women", False, TOXIGEN_OTHER_TARGET_WEIGHT),
    ]
    assert {r["source"] for r in rows} == {"toxigen"} and {r["category"] for r in rows} == {""}


def test_hatexplain_validation_rows_only_choose_the_threshold(tmp_path):
    from classifiers.data import hatexplain_jewish
    from classifiers.training import THRESHOLD_ONLY_SOURCES

    (tmp_path / "hatexplain_test_val.csv").write_text(
        "post_id,split,text,label,target_jewish_majority\n"
        "1,val,synthetic val hate,hatespeech,1\n2,val,synthetic val normal,normal,0\n"
        "3,val,synthetic shared text,normal,0\n4,test,Synthetic  shared text,normal,0\n"
        "5,test,synthetic test hate,offensive,1\n", encoding="utf-8")
    validation = hatexplain_jewish(tmp_path, "val")
    assert [(r["text"], r["antisemitic"]) for r in validation] == [("synthetic val hate", True),
                                                                  ("synthetic val normal", False)]
    assert {r["source"] for r in validation} <= THRESHOLD_ONLY_SOURCES  # so train() never fits them
    assert len(hatexplain_jewish(tmp_path)) == 2  # the test split keeps every row
