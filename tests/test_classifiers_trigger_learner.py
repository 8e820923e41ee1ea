"""The learned trigger component: what it adds to the YAML terms, its thresholds, and its scores."""

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from classifiers.trigger_learner import MIN_POSITIVES, MIN_THRESHOLD, TriggerLearner, merge, trigger_scores

VECTORIZER = HashingVectorizer(n_features=2**12, alternate_sign=False)

# Posts about the drone deal in words a term list would not hold, posts naming it plainly, and others.
OBLIQUE = [f"the kamikaze birds from tel aviv again, paid with baku barrels, day {i}" for i in range(12)]
PLAIN = [f"israel azerbaijan arms deal signed, report {i}" for i in range(6)]
OTHER = [f"the football match ended in a draw, round {i}" for i in range(10)] + \
        [f"bread prices rose in yerevan this month, week {i}" for i in range(10)]


def _fit(oblique=OBLIQUE):
    texts = oblique + PLAIN + OTHER
    labels = [["israel_azerbaijan_ties"]] * (len(oblique) + len(PLAIN)) + [[]] * len(OTHER)
    yaml = [[]] * len(oblique) + [["israel_azerbaijan_ties"]] * len(PLAIN) + [[]] * len(OTHER)
    return TriggerLearner().fit(VECTORIZER.transform(texts), labels, yaml,
                                ["israel_azerbaijan_ties", "gaza_war"])


def test_learns_a_trigger_the_terms_miss():
    learner = _fit()
    new = VECTORIZER.transform(["more kamikaze birds from tel aviv paid with baku barrels",
                                "bread prices rose again in yerevan"])
    assert learner.predict(new) == {0: ["israel_azerbaijan_ties"]}
    assert learner.thresholds["israel_azerbaijan_ties"] >= MIN_THRESHOLD


def test_trigger_without_enough_labels_is_left_to_the_terms():
    learner = _fit()
    assert "gaza_war" not in learner.trigger_ids
    card = learner.card()
    assert card["yaml_only"] == ["gaza_war"]
    assert card["learned"]["israel_azerbaijan_ties"]["positives"] == len(OBLIQUE) + len(PLAIN)
    few = _fit(OBLIQUE[: MIN_POSITIVES - len(PLAIN) - 1])
    assert few.trigger_ids == []
    assert few.predict(VECTORIZER.transform(["kamikaze birds from tel aviv"])) == {}


def test_probabilities_are_bounded_and_rank_the_oblique_post_first():
    learner = _fit()
    proba = learner.probabilities(VECTORIZER.transform(["kamikaze birds from tel aviv", "football match"]))
    assert proba.shape == (2, 1)
    assert np.all((proba > 0) & (proba < 1))
    assert proba[0, 0] > proba[1, 0]


def test_merge_keeps_taxonomy_order_and_drops_ids_the_yaml_no_longer_lists():
    ids = ["israel_azerbaijan_ties", "nagorno_karabakh", "gaza_war"]
    assert merge(ids, ["gaza_war"], ["israel_azerbaijan_ties"]) == ["israel_azerbaijan_ties", "gaza_war"]
    assert merge(["nagorno_karabakh"], [], ["israel_azerbaijan_ties"]) == []


def test_trigger_scores_count_row_trigger_pairs():
    gold = [["a"], ["a", "b"], [], ["b"]]
    predicted = [["a"], ["a"], ["b"], []]
    scores = trigger_scores(gold, predicted)
    # tp 2 (a, a), fp 1 (b on row 3), fn 2 (b on rows 2 and 4)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.6667, 0.5, 0.5714)
    assert scores["per_trigger_f1"] == {"a": 1.0, "b": 0.0}
    assert scores["rows"] == 4


def _rows() -> list[dict]:
    def row(text, antisemitic, triggers, category=None):
        return {"text": text, "antisemitic": antisemitic, "lang": "en", "triggers": triggers,
                "category": category or ("conspiracy" if antisemitic else "none")}
    oblique = [row(f"the jews sent their kamikaze birds from the holy land again, paid with caspian barrels, day {i}",
                   True, ["israel_azerbaijan_ties"], "collective_blame") for i in range(12)]
    other = [row(f"bread prices rose in yerevan this month, week {i}", False, []) for i in range(12)]
    hostile = [row(f"the jews control the banks and the newspapers, part {i}", True, [],
                   "conspiracy" if i % 2 else "classic_tropes") for i in range(12)]
    return oblique + other + hostile


def test_a_trained_model_adds_learned_triggers_only_while_the_yaml_lists_them(tmp_path):
    from classifiers.training import evaluate_triggers, train

    rows = _rows()
    model = train(rows[::2] + rows[1::4], validation=rows[3::4], version="test-triggers", word_bits=12,
                  char_bits=12, min_rows_per_language=4)
    assert model.trigger_learner is not None and model.trigger_learner.trigger_ids == ["israel_azerbaijan_ties"]
    post = "the jews sent more kamikaze birds from the holy land, paid with caspian barrels"
    assert model.predict([post])[0].antisemitic and model.predict([post])[0].triggers == ["israel_azerbaijan_ties"]
    assert model.predict(["bread prices rose in yerevan"])[0].triggers == []
    # The learned part speaks for flagged posts only: the same words in a post not flagged get the YAML's tags.
    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import tag_batch

    normalized = normalize_batch([post])
    features = model.detector.named_steps["features"].transform(normalized)
    tags = tag_batch(normalized, model.taxonomy)
    assert model._triggers(model.taxonomy, tags, features, [None], flagged=[0]) == [["israel_azerbaijan_ties"]]
    assert model._triggers(model.taxonomy, tags, features, [None], flagged=[]) == [[]]  # not flagged: the YAML's terms only
    scores = evaluate_triggers(model, rows)
    assert scores["yaml_terms"]["recall"] == 0.0  # no term of the YAML is in these oblique posts
    assert scores["yaml_and_learned"]["recall"] > 0.9 and scores["added_by_learned"] >= 11

    # Removing the trigger from the YAML removes it from the predictions, without retraining.
    (tmp_path / "triggers.yaml").write_text(
        "version: '1'\ntriggers:\n  - id: gaza_war\n    label: Gaza\n    terms: {en: [gaza]}\n", encoding="utf-8")
    model.taxonomy_path, model._taxonomy = str(tmp_path / "triggers.yaml"), None
    assert model.predict([post])[0].triggers == []
