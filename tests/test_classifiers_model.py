"""A small model trained from a fixture: predictions, explanations, saving/loading and the classify command."""

import io
import json
from pathlib import Path

import pytest
import sklearn

from classifiers import artifacts
from classifiers.artifacts import ModelLoadError, load_model, save_model
from classifiers.categories import CATEGORIES
from classifiers.commands import classify_stream
from classifiers.data import read_jsonl, rows_by_split
from classifiers.model import Prediction
from classifiers.training import evaluate, train

FIXTURES = Path(__file__).parent / "fixtures" / "classifiers"


@pytest.fixture(scope="module")
def tiny_model():
    train_rows, heldout = rows_by_split(read_jsonl(FIXTURES / "tiny_train.jsonl"))
    return train(train_rows, validation=heldout, version="test-1", word_bits=12, char_bits=12,
                 min_rows_per_language=4)


@pytest.fixture()
def model_dir(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, training_data=[{"name": "fixture", "licence": "n/a", "credit": "tests",
                                                     "used": "all"}], scores={}, protocol="none")
    return tmp_path


def test_predictions_move_the_right_way(tiny_model):
    hateful, neutral = tiny_model.predict(["the jews control the newspapers", "the government controls the newspapers"])
    assert hateful.score > neutral.score
    assert hateful.antisemitic and not neutral.antisemitic
    ru_hate, ru_neutral = tiny_model.predict(["евреи контролируют газеты", "правительство контролирует газеты"])
    assert ru_hate.score > ru_neutral.score


def test_prediction_fields(tiny_model):
    flagged, clean = tiny_model.predict(["all jews are to blame for the arms deal", "critics oppose the arms deal"],
                                        ["en", None])
    assert isinstance(flagged, Prediction)
    assert flagged.category in CATEGORIES and flagged.category != "none"
    assert flagged.explanation and all(isinstance(g, str) for g in flagged.explanation)
    assert clean.category == "none" and clean.explanation == []
    assert 0.0 <= clean.score <= 1.0


def test_language_covered(tiny_model):
    assert set(tiny_model.languages) == {"en", "ru"}
    preds = tiny_model.predict(["jews", "евреи", "Juden", "Juden"], ["en-GB", None, "de", None])
    assert [p.language_covered for p in preds] == [True, True, False, False]


def test_latin_script_posts_without_a_language_are_detected_not_taken_for_english(tiny_model):
    texts = ["The council approved the new budget for schools and roads this week.",
             "Hola amigos, mañana vamos todos juntos a la playa con la familia.",
             "Dzisiaj w Warszawie pada deszcz i jest bardzo zimno na ulicach.",
             "Die Stadtverwaltung hat heute den neuen Haushalt beschlossen.", "ok"]
    assert [p.language_covered for p in tiny_model.predict(texts)] == [True, False, False, False, False]


def test_predict_batches_and_handles_empty(tiny_model):
    texts = ["the jews control the banks", "", "israel signed a deal"] * 5
    assert [p.score for p in tiny_model.predict(texts, batch_size=4)] == [p.score for p in tiny_model.predict(texts)]
    assert tiny_model.predict([]) == []


def test_evaluate_reports_the_antisemitic_class(tiny_model):
    scores = evaluate(tiny_model, read_jsonl(FIXTURES / "tiny_train.jsonl"))
    assert set(scores) == {"rows", "antisemitic", "precision", "recall", "f1", "auc"}
    assert scores["auc"] > 0.9


def test_round_trip(model_dir, tiny_model):
    card = json.loads((model_dir / "card.json").read_text())
    assert card["libraries"]["scikit-learn"] == sklearn.__version__
    assert card["threshold"] == tiny_model.threshold and (model_dir / "MODEL_CARD.md").is_file()
    loaded = load_model(model_dir)
    assert loaded.version == "test-1"
    assert card["detector"] == {"char_ngrams": [3, 5], "flags": ["slur", "target"], "C": 1.0}
    text = (model_dir / "MODEL_CARD.md").read_text()
    assert ("char_wb 3-5-grams, plus flags for posts holding a slur for Jews and for posts naming no "
            "Jewish/Israeli target -> class-balanced logistic regression on the n-grams (C=1.0)") in text
    older = artifacts.render_card({k: v for k, v in card.items() if k != "detector"})  # a card before the field
    assert "settings not recorded in this card" in older and "slur" not in older
    assert loaded.predict(["the jews control the media"])[0].score == tiny_model.predict(["the jews control the media"])[0].score


def test_tampered_model_is_refused(model_dir):
    load_model(model_dir)  # loaded (and cached) before the file changes
    with (model_dir / "model.joblib").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(model_dir)


def test_an_unchanged_model_is_loaded_once(model_dir):
    first = load_model(model_dir)
    assert load_model(str(model_dir)) is first
    (model_dir / "card.json").write_text((model_dir / "card.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_model(model_dir) is not first  # a rewritten file is verified and loaded again


def test_other_sklearn_version_is_refused(model_dir):
    card_path = model_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["libraries"]["scikit-learn"] = "0.0.1"
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="scikit-learn"):
        load_model(model_dir)


def test_missing_card_is_refused(tmp_path):
    with pytest.raises(ModelLoadError):
        load_model(tmp_path)


def test_vigil_classify_refuses_a_tampered_model_in_one_line(model_dir, tmp_path):
    from typer.testing import CliRunner

    from classifiers.commands import app

    with (model_dir / "model.joblib").open("ab") as fh:
        fh.write(b"\0")
    posts = tmp_path / "in.jsonl"
    posts.write_text('{"id": 1, "text": "hello"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(posts), "--model", str(model_dir)])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert "does not match the sha256 in its card" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_classify_writes_error_rows_and_goes_on(tiny_model):
    out = io.StringIO()
    with (FIXTURES / "posts.jsonl").open(encoding="utf-8") as src:
        done, errors = classify_stream(tiny_model, src, out, batch_size=2)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (done, errors) == (2, 4)
    assert [r.get("id") for r in rows] == ["a1", None, "a2", "a3", None, "a4"]
    assert rows[1] == {"line": 2, "error": rows[1]["error"]} and rows[1]["error"].startswith("not JSON")
    assert rows[2]["error"] == "missing text" and rows[2]["line"] == 3
    assert rows[4]["line"] == 6
    assert rows[5]["antisemitic"] is True and rows[5]["category"] != "none"
    assert set(rows[0]) == {"id", "antisemitic", "score", "category", "triggers", "explanation", "language_covered"}


def test_default_model_dir_is_packaged():
    assert artifacts.default_model_dir().name == "default_model"


def test_recorded_evaluation_keeps_the_model_loadable(model_dir):
    artifacts.record_evaluation(model_dir, {"isca-temporal": {"vigil": {"rows": 2, "positive": 1, "precision": 1.0,
                                                                        "recall": 1.0, "f1": 1.0, "auc": 1.0}}},
                                "vigil evaluate -p isca-temporal")
    assert load_model(model_dir).version == "test-1"
    card = json.loads((model_dir / "card.json").read_text())
    assert card["evaluation"]["results"]["isca-temporal"]["vigil"]["f1"] == 1.0
    assert "| isca-temporal | vigil | 2 | 1 |" in (model_dir / "MODEL_CARD.md").read_text()


def test_the_card_reports_the_held_out_negations_check(tiny_model, tmp_path):
    from classifiers.data import negations_heldout_rows
    from classifiers.training import evaluate_false_positives

    fps = evaluate_false_positives(tiny_model, negations_heldout_rows())
    assert set(fps) == {"de", "en", "hy", "ru"} and sum(v["rows"] for v in fps.values()) == 24
    save_model(tiny_model, tmp_path, training_data=[{"name": "fixture", "licence": "n/a", "credit": "tests",
                                                     "used": "all"}],
               scores={"negations-heldout_false_positives": fps}, protocol="none")
    card = (tmp_path / "MODEL_CARD.md").read_text()
    de = fps["de"]
    assert (f"(`classifiers/heldout/negations.jsonl`), flagged / rows (highest score): de {de['flagged']}/5 "
            f"({de['max_score']}), en ") in card


def test_the_card_lists_peer_rows_and_says_which_peers_were_left_out(model_dir):
    row = {"rows": 4, "positive": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5, "auc": 0.53}
    results = {"isca-temporal": {"vigil": {**row, "auc": 0.8}, "hatesonar": row},
               "peers": {"hatesonar": "scored", "alt_profanity_check": "not installed (profanity_check)"}}
    artifacts.record_evaluation(model_dir, results, "vigil evaluate -p isca-temporal")
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert "| isca-temporal | hatesonar | 4 | 2 | 0.5 | 0.5 | 0.5 | 0.53 |" in card
    assert ("scored: hatesonar (its hate_speech confidence, flagged when hate_speech is its top class); left out: "
            "alt_profanity_check (not installed (profanity_check)).") in card
    assert "| peers |" not in card


def test_threshold_split_chooses_the_threshold_on_real_rows_only():
    from classifiers.training import threshold_split

    from classifiers.data import seed_rows

    seeds = seed_rows("train")[:200]  # the real train split: its own hash must not empty the slice
    rows = seeds + [{"text": f"{source} row {i}", "antisemitic": i % 2 == 0, "source": source}
                    for source in ("background", "toxigen") for i in range(200)]
    isca_fit = [{"text": f"isca fit {i}", "antisemitic": False, "source": "isca"} for i in range(5)]
    isca_validation = [{"text": f"isca validation {i}", "antisemitic": True, "source": "isca"} for i in range(3)]
    fit, validation = threshold_split(rows, isca_fit, isca_validation)
    assert validation[:3] == isca_validation
    assert {r["source"] for r in validation} == {"isca", "seeds"}  # never generated or machine-written rows
    assert 10 < sum(r["source"] == "seeds" for r in validation) < 60  # about 15% of 200 train-split seeds
    assert sorted(r["text"] for r in fit + validation) == sorted(r["text"] for r in rows + isca_fit + isca_validation)


def test_validation_rows_lent_for_the_threshold_are_never_fitted(monkeypatch):
    from classifiers import training

    fitted: list[list[str]] = []
    real_fit = training._fit_detector

    def recording_fit(rows, **params):
        fitted.append([r["text"] for r in rows])
        return real_fit(rows, **params)

    monkeypatch.setattr(training, "_fit_detector", recording_fit)
    rows = [{"text": f"the jews control the banks {i}", "antisemitic": True} for i in range(12)]
    rows += [{"text": f"the weather is nice today {i}", "antisemitic": False} for i in range(12)]
    validation = [{"text": "the jews own the media", "antisemitic": True, "source": "seeds"},
                  {"text": "rain again in the valley", "antisemitic": False, "source": "seeds"},
                  {"text": "lent jews post", "antisemitic": True, "source": "hatexplain-val"},
                  {"text": "lent normal post", "antisemitic": False, "source": "hatexplain-val"}]
    train(rows, validation=validation, version="t")
    probe, refit = fitted
    assert "the jews own the media" not in probe and "the jews own the media" in refit
    assert not {"lent jews post", "lent normal post"} & (set(probe) | set(refit))


def test_train_chooses_its_threshold_on_the_train_split_of_jsonl_rows_alone():
    from classifiers.data import seed_rows

    rows = seed_rows("train")  # what `vigil train seeds/*.jsonl` fits, without --isca or --hatexplain
    model = train(rows, version="t")
    assert 0.0 < model.threshold < 1.0


def test_explainable_grams_are_the_word_hashers_grams_without_stopword_only_ones():
    """The explanation's grams come from one regex pass; the hasher's own analyzer, filtered, is the reference."""
    from classifiers.data import seed_rows
    from classifiers.features import WordNgramHasher
    from classifiers.model import STOPWORDS, explainable_grams
    from classifiers.normalize import normalize_batch

    analyze = WordNgramHasher().reference().build_analyzer()
    texts = normalize_batch([r["text"] for r in seed_rows()] + ["the a an of the jews", "и в на", "a b", "", "the"])
    for text in texts:
        expected = sorted(g for g in set(analyze(text)) if not STOPWORDS.issuperset(g.split()))
        assert explainable_grams(text) == expected, text


def test_predict_pauses_the_garbage_collector_and_restores_it(tiny_model, monkeypatch):
    import gc

    from classifiers import model as model_module

    seen = []
    real = model_module.normalize_batch

    def normalize_batch(texts):
        seen.append(gc.isenabled())
        return real(texts)

    monkeypatch.setattr(model_module, "normalize_batch", normalize_batch)
    assert gc.isenabled()
    tiny_model.predict(["the jews run the banks", "nice weather today"])
    assert seen == [False] and gc.isenabled()  # paused while predicting, then on again
    gc.disable()
    try:
        tiny_model.predict(["the jews run the banks"])
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()

def test_classify_turns_bad_fields_and_bytes_into_error_rows(tiny_model, tmp_path):
    """A lang that is not a string, a line that is not UTF-8, a lone surrogate: each an error row, in order,
    and the good rows around them are classified and written (the file once ended empty)."""
    lines = [b'{"id": "g1", "text": "the jews control the banks"}',
             b'{"id": "b1", "text": "hello", "lang": 5}',
             b'{"id": "b2", "text": "hello", "lang": ["en"]}',
             b'{"id": "b3", "text": "caf\xe9 au lait"}',
             b'{"id": "b4", "text": "broken \\ud800 text"}',
             b'{"id": {"x": 1}, "text": "hello", "lang": 5}',
             b'{"id": "g2", "text": "bread prices rose in yerevan", "lang": "en"}']
    out = io.StringIO()
    done, errors = classify_stream(tiny_model, io.BytesIO(b"\n".join(lines)), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (done, errors) == (2, 5)
    assert [r.get("id") for r in rows] == ["g1", "b1", "b2", None, "b4", None, "g2"]
    assert rows[1]["error"] == "lang must be a string, not int" and rows[2]["error"] == "lang must be a string, not list"
    assert rows[3] == {"line": 4, "error": "not UTF-8 (byte 25)"}
    assert rows[4]["error"] == "text is not valid Unicode (a lone surrogate)"
    assert "score" in rows[0] and "score" in rows[6]


def test_vigil_classify_writes_every_row_of_a_file_with_bad_bytes(tmp_path, model_dir):
    from typer.testing import CliRunner

    from classifiers.commands import app

    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": "g1", "text": "bread prices"}\n{"id": "b", "text": "\xff\xfe"}\n{"id": "g2", "text": "rain"}\n')
    result = CliRunner().invoke(app, ["classify", str(src), "--model", str(model_dir), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r.get("id") for r in rows] == ["g1", None, "g2"] and "error" in rows[1]


def test_vigil_classify_tags_with_the_triggers_file_the_settings_name(tmp_path, model_dir):
    from typer.testing import CliRunner

    from classifiers.commands import app
    from monitor.config import Settings, use_settings

    triggers = tmp_path / "triggers.yaml"
    triggers.write_text("triggers:\n  - id: festivals\n    terms: {en: [festival*]}\n", encoding="utf-8")
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "f", "text": "Jazz festivals in Gyumri"}\n', encoding="utf-8")
    use_settings(Settings(data_dir=tmp_path, triggers_file=triggers))
    try:
        result = CliRunner().invoke(app, ["classify", str(src), "--model", str(model_dir)])
    finally:
        use_settings(None)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["triggers"] == ["festivals"]
