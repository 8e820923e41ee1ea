"""Validation-only study of detector settings: the shipped recipe refit per setting, scored on validation rows.

Run: .venv/bin/python bench/detector_validation.py [--data ../shared/data] ['{"char_ngrams": [3, 5], "C": 1.0}' ...]

Each JSON argument is a set of make_detector parameters, or "mention_weight", the weight of the background
corpus's mentions of Jews (classifiers/background.py) ('{}' is the shipped recipe). The detector is fitted on the
fit rows of the shipped recipe's threshold split (seeds' train split, background corpus, ToxiGen, ISCA 2019-21
but its latest 15%) and scored on the three validation sets that choose the threshold: ISCA's latest
train-year slice, HateXplain's validation split and the seed validation slice; and on
bench/mentions_validation.jsonl, ordinary mentions of Jews and Israel written for this study (all
non-antisemitic, so it prints how many score 0.5 or more and the highest score); and on
bench/negations_validation.jsonl, claims about Jews that are denied (not antisemitic) and antisemitic posts that
hold a negation themselves ("the Holocaust never happened"), written for this study: AUC, and how many of each
score 0.5 or more. Test splits (ISCA 2022-23,
HateXplain test, held-out seeds, classifiers/heldout/) are never read. Prints AUC and the best recall at
precision >= 0.8 per set.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from sklearn.metrics import roc_auc_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="*", default=["{}"],
                        help="make_detector parameters as JSON, and mention_weight (background mentions of Jews)")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    args = parser.parse_args()

    from classifiers.data import hatexplain_jewish, isca_temporal, read_jsonl, rows_by_split, seed_rows, toxigen_rows
    from classifiers.evaluation import recall_at_precision
    from classifiers.training import _fit_detector, isca_validation_slice, recipe_rows, threshold_split

    seeds, _heldout = rows_by_split(seed_rows())
    toxigen = toxigen_rows(os.path.join(args.data, "toxigen_annotated"))
    isca_train, _isca_test = isca_temporal(os.path.join(args.data, "isca_antisemitism_twitter"))
    isca_fit, isca_val = isca_validation_slice(isca_train)
    hx_val = hatexplain_jewish(os.path.join(args.data, "hatexplain_test_val"), "val")
    mentions = read_jsonl(os.path.join(os.path.dirname(__file__), "mentions_validation.jsonl"))
    negations = read_jsonl(os.path.join(os.path.dirname(__file__), "negations_validation.jsonl"))
    for setting in args.settings:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(setting).items()}
        weight = {"mention_weight": params.pop("mention_weight")} if "mention_weight" in params else {}
        fit, validation = threshold_split(recipe_rows(seeds, toxigen=toxigen, **weight), isca_fit, isca_val + hx_val)
        sets = {"isca_val": isca_val, "hatexplain_val": hx_val,
                "seed_val": [r for r in validation if r.get("source") == "seeds"]}
        print(f"fit rows {len(fit)}; validation rows " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
        start = time.perf_counter()
        detector = _fit_detector(fit, **params)
        out = []
        for name, rows in sets.items():
            y = [r["antisemitic"] for r in rows]
            scores = detector.predict_proba([r["text"] for r in rows])[:, 1]
            out.append(f"{name} AUC {roc_auc_score(y, scores):.4f} R@P0.8 {recall_at_precision(y, scores):.4f}")
        mention_scores = detector.predict_proba([r["text"] for r in mentions])[:, 1]
        out.append(f"mentions_val {int((mention_scores >= 0.5).sum())}/{len(mentions)} >= 0.5, "
                   f"max {mention_scores.max():.4f}")
        y = [r["antisemitic"] for r in negations]
        scores = detector.predict_proba([r["text"] for r in negations])[:, 1]
        denied, hostile = scores[[not v for v in y]], scores[y]
        out.append(f"negations_val AUC {roc_auc_score(y, scores):.4f}, denied {int((denied >= 0.5).sum())}/"
                   f"{len(denied)} >= 0.5, antisemitic {int((hostile >= 0.5).sum())}/{len(hostile)} >= 0.5")
        print(f"{setting}: " + "; ".join(out) + f" (fit {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
