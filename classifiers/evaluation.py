"""The fixed evaluation protocols of ../shared/data/README.md, for Vigil and the reference TF-IDF + LR side by side.

isca-temporal: train on ISCA 2019-2021, test on 2022-2023. isca-cv: 5-fold CV grouped by identical text.
hatexplain-jewish and mhc-jewish: test-only sets, scored by the isca-temporal models (never trained on).
Every Vigil model here is trained the way the shipped one is: ISCA train rows + the train split of the
seeds + the background corpus + ToxiGen (when the data folder has it), threshold chosen on validation rows
taken from the training rows and on the HateXplain validation split (never its test split), then refitted on
the fit rows + the validation rows taken from training (HateXplain's are never fitted).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import structlog
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, precision_recall_curve
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.data import (
    hatexplain_jewish,
    isca_rows,
    isca_temporal,
    seed_rows,
    text_group,
    toxigen_rows,
)
from classifiers.peers import Scorer, peer_scorers
from classifiers.training import (
    isca_validation_slice,
    metrics,
    recipe_rows,
    threshold_split,
    train,
    validation_slice,
)

log = structlog.get_logger(__name__)

PROTOCOLS = ("isca-temporal", "isca-cv", "hatexplain-jewish", "mhc-jewish")
MHC_LANGUAGES = {"german": "de", "polish": "pl", "spanish": "es", "portuguese": "pt", "arabic": "ar"}
CV_FOLDS = 5
TARGET_PRECISION = 0.8
RECALL_AT_PRECISION = f"recall_at_precision_{TARGET_PRECISION}"  # its key in the protocols' results
CALIBRATION_BINS = 10


def train_vigil(isca_fit: list[dict], validation: list[dict], rows: list[dict]):
    """A Vigil Model trained on `isca_fit` + `rows` (training.recipe_rows); threshold on `validation` + a seed
    slice, split as the shipped model is (training.threshold_split)."""
    fit, validation = threshold_split(rows, isca_fit, validation)
    return train(fit, validation=validation, version="evaluation")


def vigil_scorer(model) -> Scorer:
    def score(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        s = model.scores(texts)
        return s, s >= model.threshold
    return score


def train_reference(rows: list[dict]) -> Scorer:
    """The README's reference: TF-IDF word 1-2 + char 2-5, class-balanced logistic regression, threshold 0.5."""
    pipe = Pipeline([
        ("tfidf", FeatureUnion([("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
                                ("char", TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True,
                                                         min_df=2))])),
        ("lr", LogisticRegression(class_weight="balanced", max_iter=2000)),
    ])
    pipe.fit([r["text"] for r in rows], [r["antisemitic"] for r in rows])

    def score(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        s = pipe.predict_proba(list(texts))[:, 1]
        return s, s >= 0.5
    return score


def recall_at_precision(y_true: Sequence[bool], scores: Sequence[float], minimum: float = TARGET_PRECISION) -> float:
    """The highest recall of any threshold whose precision is at least `minimum` on these rows.

    The threshold is chosen on the scored rows themselves, so this is a ranking measure like AUC (an upper bound
    for a threshold chosen beforehand), reported because the hatexplain-jewish target is stated this way.
    """
    y = np.asarray(y_true, dtype=bool)
    if not y.any():
        return float("nan")
    precision, recall, _ = precision_recall_curve(y, np.asarray(scores, dtype=float))
    return round(float(recall[precision >= minimum].max()), 4)  # the curve ends at precision 1, recall 0


def calibration_error(y_true: Sequence[bool], scores: Sequence[float], bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: over `bins` equal-width score bins, the gap between the mean score and the
    share of positives, weighted by the bin's share of the rows (0 for a perfectly calibrated probability)."""
    y, s = np.asarray(y_true, dtype=float), np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    if not len(y):
        return float("nan")
    which = np.minimum((s * bins).astype(int), bins - 1)
    gaps = np.abs(np.bincount(which, weights=s, minlength=bins) - np.bincount(which, weights=y, minlength=bins))
    return round(float(gaps.sum() / len(y)), 4)  # sum over bins of n_b/N * |mean score - observed share|


def protocol_metrics(y_true: Sequence[bool], scores: Sequence[float], flagged: Sequence[bool]) -> dict:
    """metrics() at the model's own threshold, plus recall at precision >= TARGET_PRECISION, and how well the
    scores read as probabilities on these rows: the Brier score and the expected calibration error."""
    y, s = np.asarray(y_true, dtype=bool), np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    return {**metrics(y_true, scores, flagged),
            RECALL_AT_PRECISION: recall_at_precision(y_true, scores),
            "brier": round(float(brier_score_loss(y, s)), 4) if len(y) else float("nan"),
            "calibration_error": calibration_error(y, s)}


def _score_rows(scorer: Scorer, rows: list[dict]) -> dict:
    s, flagged = scorer([r["text"] for r in rows])
    return protocol_metrics([r["antisemitic"] for r in rows], s, flagged)


def mhc_jewish(folder: str | Path) -> dict[str, list[dict]]:
    """Multilingual HateCheck cases whose target is Jews, per language code (hateful = positive)."""
    out = {}
    for name, code in MHC_LANGUAGES.items():
        path = Path(folder) / f"hatecheck_cases_final_{name}.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            out[code] = [{"text": rec["test_case"], "antisemitic": rec["label_gold"] == "hateful"}
                         for rec in csv.DictReader(fh) if "jew" in rec["target_ident"].casefold()]
    return out


def isca_cv(isca_path: str | Path, vigil_mix: list[dict], extra_validation: list[dict] = (),
            folds: int = CV_FOLDS, peers: dict[str, Scorer] | None = None) -> dict:
    """Grouped k-fold CV on all ISCA rows: out-of-fold scores pooled, each fold with its own threshold.
    Pre-trained `peers` (classifiers.peers) score every row once: no fold trains them."""
    rows = list(isca_rows(isca_path))
    groups = [text_group(r["text"]) for r in rows]
    y = np.array([r["antisemitic"] for r in rows])
    out = {"vigil": (np.zeros(len(rows)), np.zeros(len(rows), bool)),
           "reference_tfidf_lr": (np.zeros(len(rows)), np.zeros(len(rows), bool))}
    for k, (train_idx, test_idx) in enumerate(GroupKFold(n_splits=folds).split(rows, y, groups)):
        fold_train = [rows[i] for i in train_idx]
        # Validation for the threshold: a 15% slice of the fold's training rows, whole text groups at a time.
        fit, validation = validation_slice(fold_train)
        test_texts = [rows[i]["text"] for i in test_idx]
        for name, scorer in (("vigil", vigil_scorer(train_vigil(fit, validation + list(extra_validation), vigil_mix))),
                             ("reference_tfidf_lr", train_reference(fold_train))):
            s, flagged = scorer(test_texts)
            out[name][0][test_idx], out[name][1][test_idx] = s, flagged
        log.info("isca_cv_fold", fold=k + 1, of=folds)
    for name, scorer in (peers or {}).items():
        out[name] = scorer([r["text"] for r in rows])
    return {name: protocol_metrics(y, s, f) for name, (s, f) in out.items()}


def run_protocols(data: str | Path, protocols: Sequence[str] = PROTOCOLS) -> dict:
    """Run the chosen protocols over the shared data folder and return {protocol: {model: metrics}}, plus "peers":
    which off-the-shelf classifiers (classifiers.peers) were scored beside Vigil and the reference, or why not."""
    data = Path(data)
    peers, peer_status = peer_scorers()
    isca_path = data / "isca_antisemitism_twitter"
    toxigen, hatexplain = data / "toxigen_annotated", data / "hatexplain_test_val"
    vigil_mix = recipe_rows(seed_rows("train"), toxigen=toxigen_rows(toxigen) if toxigen.exists() else [])
    # The HateXplain validation split helps choose the threshold, as for the shipped model (never fitted).
    extra_validation = hatexplain_jewish(hatexplain, "val") if hatexplain.exists() else []
    results: dict = {}
    if {"isca-temporal", "hatexplain-jewish", "mhc-jewish"} & set(protocols):
        isca_train, isca_test = isca_temporal(isca_path)
        fit, validation = isca_validation_slice(isca_train)
        vigil = train_vigil(fit, validation + extra_validation, vigil_mix)
        scorers = {"vigil": vigil_scorer(vigil), "reference_tfidf_lr": train_reference(isca_train), **peers}
        log.info("isca_temporal_models_trained")
        if "isca-temporal" in protocols:
            results["isca-temporal"] = {n: _score_rows(s, isca_test) for n, s in scorers.items()}
        if "hatexplain-jewish" in protocols:
            rows = hatexplain_jewish(hatexplain, "test")
            results["hatexplain-jewish"] = {n: _score_rows(s, rows) for n, s in scorers.items()}
        if "mhc-jewish" in protocols:
            per_lang = mhc_jewish(data / "multilingual_hatecheck" / "mhc_final_cases")
            results["mhc-jewish"] = {lang: {n: _score_rows(s, rows) for n, s in scorers.items()}
                                     for lang, rows in per_lang.items()}
            for lang, by_model in results["mhc-jewish"].items():
                by_model["vigil"]["language_covered"] = lang in vigil.languages
                # What predict marks on these cases, which come without a language (detected from the text).
                marked = vigil.languages_covered([r["text"] for r in per_lang[lang]], [None] * len(per_lang[lang]))
                by_model["vigil"]["marked_covered_share"] = round(sum(marked) / len(marked), 4)
            results["mhc-jewish"]["note"] = (f"Vigil covers {', '.join(vigil.languages)}; a language it does not "
                                             "cover is scored anyway but its posts are marked language_covered=false "
                                             "(marked_covered_share: the share of these cases, given without a "
                                             "language, that predict marks covered)")
    if "isca-cv" in protocols:
        results["isca-cv"] = isca_cv(isca_path, vigil_mix, extra_validation, peers=peers)
    results["peers"] = peer_status
    return results
