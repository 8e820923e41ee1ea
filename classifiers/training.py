"""Train a Model from rows, choose its threshold on validation rows, evaluate it and save it with its card."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import structlog
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from classifiers.background import MENTION_WEIGHT
from classifiers.background import SOURCE as BACKGROUND_SOURCE
from classifiers.background import background_rows
from classifiers.categories import ANTISEMITIC_CATEGORIES
from classifiers.data import (
    HATEXPLAIN_VALIDATION_SOURCE,
    HELDOUT_CHECKS,
    HELDOUT,
    TOXIGEN_OTHER_TARGET_WEIGHT,
    TOXIGEN_SOURCE,
    TRAIN,
    check_row,
    hash_split,
    hatexplain_jewish,
    heldout_check_rows,
    isca_temporal,
    rows_by_split,
    seed_rows,
    text_group,
    toxigen_rows,
)
from classifiers.model import Model, base_language, make_categorizer, make_detector
from classifiers.normalize import normalize_batch
from classifiers.taxonomy import load_taxonomy, tag_batch
from classifiers.trigger_learner import TriggerLearner, labelled, trigger_scores

log = structlog.get_logger(__name__)

VALIDATION_FRACTION = 0.15
MIN_ROWS_PER_LANGUAGE = 10
SEED_WEIGHT = 5.0
REVIEW_HELDOUT_PERCENT = 20
REVIEW_SOURCE = "reviews"
# Generated or machine-written rows: fitted, never used to choose the threshold.
FIT_ONLY_SOURCES = frozenset({BACKGROUND_SOURCE, TOXIGEN_SOURCE})
# Rows of a data set's validation split: they help choose the threshold and are never fitted.
THRESHOLD_ONLY_SOURCES = frozenset({HATEXPLAIN_VALIDATION_SOURCE})


def choose_threshold(y_true: Sequence[bool], scores: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The threshold maximising (weighted) antisemitic-class F1 on validation rows, midway to the next lower score."""
    y, s = np.asarray(y_true, dtype=bool), np.asarray(scores, dtype=float)
    candidates = np.unique(s)
    if len(candidates) > 400:
        candidates = np.unique(np.quantile(s, np.linspace(0.0, 1.0, 401)))
    f1s = np.array([f1_score(y, s >= t, sample_weight=weights, zero_division=0) for t in candidates])
    best = int(np.flatnonzero(f1s >= f1s.max() - 1e-12).max())  # the highest threshold with the best F1
    lower = s[s < candidates[best]]
    return float((candidates[best] + lower.max()) / 2) if lower.size else float(candidates[best])


def _fit_detector(rows: list[dict], **params):
    y = np.array([r["antisemitic"] for r in rows])
    cv = int(max(2, min(5, np.bincount(y.astype(int), minlength=2).min())))
    detector = make_detector(cv=cv, **params)
    weights = np.array([float(r.get("weight", 1.0)) for r in rows])
    detector.fit([r["text"] for r in rows], y, clf__sample_weight=weights)
    return detector


def _fit_categorizer(rows: list[dict]):
    labelled = [r for r in rows if r["antisemitic"] and r.get("category") in ANTISEMITIC_CATEGORIES]
    if len({r["category"] for r in labelled}) < 2:
        labelled = [r for r in seed_rows("train") if r["antisemitic"]]  # fall back to the packaged seeds
    categorizer = make_categorizer()
    categorizer.fit([r["text"] for r in labelled], [r["category"] for r in labelled])
    return categorizer


def _fit_trigger_learner(detector, rows: list[dict]) -> TriggerLearner | None:
    """Per-trigger models on the detector's features of the rows labelled with `triggers`; None without labels."""
    rows = labelled(rows)
    if not rows:
        return None
    taxonomy = load_taxonomy()
    normalized = normalize_batch(r["text"] for r in rows)
    features = detector.named_steps["features"].transform(normalized)
    return TriggerLearner().fit(features, [r["triggers"] for r in rows], tag_batch(normalized, taxonomy),
                                taxonomy.ids)


def _covered_languages(rows: list[dict], min_rows: int) -> list[str]:
    counts: dict[str, int] = {}
    for r in rows:
        lang = base_language(r.get("lang"))
        if lang:
            counts[lang] = counts.get(lang, 0) + 1
    return sorted(lang for lang, n in counts.items() if n >= min_rows)


def train(rows: Iterable[dict], *, validation: Sequence[dict] | None = None, version: str | None = None,
          min_rows_per_language: int = MIN_ROWS_PER_LANGUAGE, **params) -> Model:
    """Fit a Model on `rows`; the threshold is chosen on `validation` (or a 15% hash slice), then all rows are refit.

    Rows are dicts with `text`, `antisemitic`, optional `lang`, `category`, `weight`. `params` go to make_detector.
    """
    rows = list(rows)
    if validation is None:
        fit_rows, validation = validation_slice(rows)  # generated and machine-written rows never choose it
    else:
        validation, fit_rows = list(validation), rows
    if not validation or len({r["antisemitic"] for r in validation}) < 2:
        raise ValueError("validation rows must contain both antisemitic and other rows")
    probe = _fit_detector(fit_rows, **params)
    # Validation rows count with their training weight (seeds 5, ISCA 1), as in the fit.
    threshold = choose_threshold([r["antisemitic"] for r in validation],
                                 probe.predict_proba([r["text"] for r in validation])[:, 1],
                                 [float(r.get("weight", 1.0)) for r in validation])
    # Disjoint by construction; rows only lent to choose the threshold (HateXplain's validation split) stay out.
    everything = fit_rows + [r for r in validation if r.get("source") not in THRESHOLD_ONLY_SOURCES]
    detector = _fit_detector(everything, **params)
    model = Model(
        detector=detector, categorizer=_fit_categorizer(everything), threshold=threshold, version=version or "",
        languages=_covered_languages(everything, min_rows_per_language),
        trigger_learner=_fit_trigger_learner(detector, everything),
    )
    model.version = version or _version(model, everything)
    return model


HATEXPLAIN_NOTE = {"name": "HateXplain", "licence": "MIT",
                   "credit": "Mathew, Saha, Yimam, Biemann, Goyal, Mukherjee (AAAI 2021, arXiv:2012.10289)"}
TOXIGEN_NOTE = {"name": "ToxiGen, human-annotated train split", "licence": "CDLA-Permissive-2.0",
                "credit": "Hartvigsen, Gabriel, Palangi, Sap, Ray, Kamar (ACL 2022, arXiv:2203.09509), Microsoft"}


def _version(model: Model, rows: list[dict]) -> str:
    """Date and a digest of the training texts and of what the fitted model makes of them (scores and categories,
    rounded): new data, parameters or feature code give a new version, so stored posts are classified again
    (classification skips the posts this version already labelled). The same training gives the same version."""
    texts = sorted(r["text"] for r in rows)
    digest = hashlib.sha256("\n".join(texts).encode("utf-8"))
    digest.update(np.round(model.scores(texts), 6).tobytes())
    digest.update("\n".join(model._categories(normalize_batch(texts[:2000]))).encode("utf-8"))
    digest.update(repr(round(model.threshold, 6)).encode("utf-8"))
    return f"{dt.date.today():%Y.%m.%d}-{digest.hexdigest()[:8]}"


def metrics(y_true: Sequence[bool], scores: Sequence[float], flagged: Sequence[bool],
            positive_key: str = "positive") -> dict:
    """Rows, positives, precision, recall, F1 (positive class) and ROC AUC."""
    y, s = np.asarray(y_true, dtype=bool), np.asarray(scores, dtype=float)
    p, r, f, _ = precision_recall_fscore_support(y, np.asarray(flagged, dtype=bool), average="binary",
                                                 zero_division=0)
    auc = roc_auc_score(y, s) if 0 < y.sum() < len(y) else float("nan")
    return {"rows": len(y), positive_key: int(y.sum()), "precision": round(float(p), 4),
            "recall": round(float(r), 4), "f1": round(float(f), 4), "auc": round(float(auc), 4)}


def evaluate(model: Model, rows: Sequence[dict]) -> dict:
    """Precision, recall, F1 and AUC of the antisemitic class at the model's threshold."""
    scores = model.scores([r["text"] for r in rows])
    return metrics([r["antisemitic"] for r in rows], scores, scores >= model.threshold, positive_key="antisemitic")


def evaluate_false_positives(model: Model, rows: Sequence[dict]) -> dict:
    """Per language, how many of these (all non-antisemitic) rows the model flags, and the highest score."""
    out = {}
    for lang in sorted({r.get("lang") or "?" for r in rows}):
        texts = [r["text"] for r in rows if (r.get("lang") or "?") == lang]
        scores = model.scores(texts)
        out[lang] = {"rows": len(texts), "flagged": int((scores >= model.threshold).sum()),
                     "max_score": round(float(scores.max()), 4)}
    return out


def evaluate_categories(model: Model, rows: Sequence[dict]) -> dict:
    """Per-category F1 of the categorizer on rows whose gold label is antisemitic with a known category."""
    gold = [r for r in rows if r["antisemitic"] and r.get("category") in ANTISEMITIC_CATEGORIES]
    if not gold or model.categorizer is None:
        return {}
    predicted = model.categorizer.predict([r["text"] for r in gold])
    labels = sorted({r["category"] for r in gold})
    scores = f1_score([r["category"] for r in gold], predicted, labels=labels, average=None, zero_division=0)
    return {"rows": len(gold), **{c: round(float(s), 4) for c, s in zip(labels, scores, strict=True)}}


def evaluate_triggers(model: Model, rows: Sequence[dict]) -> dict:
    """Trigger precision/recall/F1 on rows labelled with `triggers`: the YAML terms alone, and with the learned part."""
    rows = labelled(rows)
    if not rows:
        return {}
    gold = [r["triggers"] for r in rows]
    yaml = tag_batch(normalize_batch(r["text"] for r in rows), model.taxonomy)
    combined = [p.triggers for p in model.predict([r["text"] for r in rows])]
    return {"yaml_terms": trigger_scores(gold, yaml), "yaml_and_learned": trigger_scores(gold, combined),
            "added_by_learned": sum(len(set(c) - set(y)) for c, y in zip(combined, yaml, strict=True))}


def isca_validation_slice(train_rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split ISCA train-year rows into (fit, validation): validation = the latest 15% by date, retweets kept apart."""
    ordered = sorted(train_rows, key=lambda r: r["created"])
    cut = int(len(ordered) * (1 - VALIDATION_FRACTION))
    fit, validation = ordered[:cut], ordered[cut:]
    fit_groups = {text_group(r["text"]) for r in fit}
    return fit, [r for r in validation if text_group(r["text"]) not in fit_groups]


def validation_slice(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(fit, validation): a 15% slice of the rows not in FIT_ONLY_SOURCES, whole text groups at a time, becomes
    validation for the threshold.

    The slice hashes the text *group*, not the text: `hash_split(text)` already decided the seeds' held-out split
    (its lowest 20 buckets), so a slice by the same hash would hold no train-split row at all.
    """
    def held(r: dict) -> bool:
        return (r.get("source") not in FIT_ONLY_SOURCES
                and hash_split(text_group(r["text"]), int(VALIDATION_FRACTION * 100)) == HELDOUT)
    return [r for r in rows if not held(r)], [r for r in rows if held(r)]


def recipe_rows(supplied: Iterable[dict], *, seed_weight: float = SEED_WEIGHT, background: bool = True,
                toxigen: Sequence[dict] = (), mention_weight: float = MENTION_WEIGHT) -> list[dict]:
    """The shipped model's rows besides ISCA: the supplied (seed) train rows at `seed_weight` unless they carry a
    weight, the generated background corpus (its mentions of Jews at `mention_weight`), and ToxiGen's rows
    (toxigen_rows)."""
    return ([{**r, "weight": r.get("weight", seed_weight)} for r in supplied]
            + (background_rows(mention_weight=mention_weight) if background else []) + list(toxigen))


def threshold_split(rows: list[dict], isca_fit: Sequence[dict],
                    validation: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """The shipped recipe's (fit, validation): the given validation rows (ISCA's latest train-year slice, the
    HateXplain validation split) and a slice of the supplied (seed) rows choose the threshold, so it suits
    ru/hy/de posts and not only English ones; everything else, with `isca_fit`, is fitted."""
    fit, seed_validation = validation_slice(rows)
    return fit + list(isca_fit), list(validation) + seed_validation


def reviewed_rows(session) -> list[dict]:
    """Analysts' labels (the latest per post, via monitor.labels.export_labels) as training rows; only reads."""
    from monitor.labels import export_labels

    return [{**check_row(r, f"reviewed label {n}"), "source": REVIEW_SOURCE}
            for n, r in enumerate(export_labels(session), 1)]


def split_reviews(reviews: Iterable[dict], *, evaluated: Iterable[dict],
                  trained: Iterable[dict]) -> tuple[list[dict], list[dict], int]:
    """(train, held-out, dropped) reviewed rows; 20% are held out by a hash of their text group.

    Grouping by text keeps retweets on one side. A reviewed text that is also an evaluation row is never
    trained on, and a held-out one already in the other training rows is dropped, so no score is inflated.
    """
    evaluated_groups = {text_group(r["text"]) for r in evaluated}
    trained_groups = {text_group(r["text"]) for r in trained}
    train_part, heldout, dropped = [], [], 0
    for row in reviews:
        group = text_group(row["text"])
        if int(group[:8], 16) % 100 < REVIEW_HELDOUT_PERCENT:
            keep, side, split = group not in trained_groups, heldout, HELDOUT
        else:
            keep, side, split = group not in evaluated_groups, train_part, TRAIN
        if keep:
            side.append({**row, "split": split})
        dropped += not keep
    return train_part, heldout, dropped


def _scores(model: Model, *, heldout: list[dict], isca_test: list[dict] | None,
            review_heldout: list[dict] | None, checks: dict[str, list[dict]]) -> dict:
    scores = {}
    if isca_test is not None:
        scores["isca-temporal"] = evaluate(model, isca_test)
    if review_heldout:
        scores["reviews-heldout"] = evaluate(model, review_heldout)
    if heldout:
        scores["heldout"] = evaluate(model, heldout)
        for lang in sorted({r.get("lang") or "?" for r in heldout}):
            scores[f"heldout-{lang}"] = evaluate(model, [r for r in heldout if (r.get("lang") or "?") == lang])
        scores["heldout_categories_f1"] = evaluate_categories(model, heldout)
        scores["heldout_triggers"] = evaluate_triggers(model, heldout)
    for name, rows in checks.items():
        scores[f"{name}-heldout_false_positives"] = evaluate_false_positives(model, rows)
    return scores


def _background_note(rows: list[dict]) -> str:
    """How many generated neutral sentences of each kind were fitted, at which weights (read from the rows)."""
    names = {"everyday": "everyday", "mention": "ordinary mentions of Jews, Jewish life and Israel"}
    counts = Counter((r.get("kind", "everyday"), float(r.get("weight", 1.0))) for r in rows)
    return "generated neutral sentences (ru/hy/en/de): " + ", ".join(
        f"{n} {names.get(kind, kind)} at weight {w:g}" for (kind, w), n in sorted(counts.items()))


def _difference(after: float, before: float) -> float | None:
    change = after - before
    return None if math.isnan(change) else round(change, 4)


def compare_scores(before: dict, after: dict) -> dict:
    """{split: {"before", "after", "change"}} for every split both score dicts measured (precision, recall, F1, AUC)."""
    out = {}
    for name, new in after.items():
        old = before.get(name)
        if isinstance(old, dict) and "precision" in old and "precision" in new:
            out[name] = {"before": old, "after": new,
                         "change": {k: _difference(new[k], old[k]) for k in ("precision", "recall", "f1", "auc")}}
    return out


def train_and_evaluate(rows: Iterable[dict], out: str | Path, *, isca: str | Path | None = None,
                       toxigen: str | Path | None = None, hatexplain: str | Path | None = None,
                       seed_weight: float = SEED_WEIGHT, background: bool = True,
                       reviews: Iterable[dict] | None = None, review_weight: float = SEED_WEIGHT,
                       compare: bool = True, **params) -> tuple[Model, dict]:
    """Train on the rows' train split (+ ISCA train years, + background, + reviewed labels), evaluate, save.

    With `reviews` (reviewed_rows), 20% of them are held out and scored as "reviews-heldout"; with `compare`,
    the same configuration is also trained without them and the card reports the score change they brought.
    """
    from classifiers.artifacts import save_model

    train_rows, heldout = rows_by_split(rows)
    toxigen_train = toxigen_rows(toxigen) if toxigen is not None else []
    train_rows = recipe_rows(train_rows, seed_weight=seed_weight, background=background, toxigen=toxigen_train)
    data_notes, validation, isca_test = [], None, None
    if toxigen_train:
        data_notes.append(TOXIGEN_NOTE | {"used": f"{len(toxigen_train)} rows, fitted only: "
                                                   f"{sum(r['antisemitic'] for r in toxigen_train)} toxic about Jews "
                                                   "(antisemitic), benign ones about Jews and toxic ones about other "
                                                   f"groups (weight {TOXIGEN_OTHER_TARGET_WEIGHT}) as not"})
    hatexplain_validation = hatexplain_jewish(hatexplain, "val") if hatexplain is not None else []
    if hatexplain_validation:
        data_notes.append(HATEXPLAIN_NOTE | {"used": f"validation split only: {len(hatexplain_validation)} posts "
                                                     "(Jews the majority target, or normal) to choose the "
                                                     "threshold, never fitted; the test split is never read"})
    if isca is not None or hatexplain_validation:
        isca_fit, isca_validation = [], []
        if isca is not None:
            isca_train, isca_test = isca_temporal(isca)
            isca_fit, isca_validation = isca_validation_slice(isca_train)
            data_notes.append({"name": "ISCA Antisemitism on Twitter v2 (GoldStandard2024)", "licence": "CC BY 4.0",
                               "credit": "Jikeli, Soemer, Karali et al., ISCA, Indiana University "
                                         "(arXiv:2304.14599; Zenodo 14448399)",
                               "used": f"isca-temporal train years 2019-2021: {len(isca_fit)} fit rows, "
                                       f"{len(isca_validation)} validation rows (latest 15%) for the threshold"})
        train_rows, validation = threshold_split(train_rows, isca_fit, isca_validation + hatexplain_validation)
    checks = {name: heldout_check_rows(name) for name in HELDOUT_CHECKS}  # read once: scored, kept from reviews
    review_train, review_heldout, review_card = [], None, None
    if reviews is not None:
        review_train, review_heldout, dropped = split_reviews(
            reviews, evaluated=heldout + (isca_test or []) + [r for rows in checks.values() for r in rows],
            trained=train_rows + (validation or []))
        review_train = [{**r, "weight": review_weight} for r in review_train]
        review_card = {"train": len(review_train), "heldout": len(review_heldout), "dropped_overlap": dropped,
                       "heldout_percent": REVIEW_HELDOUT_PERCENT, "weight": review_weight, "comparison": None}
    fit_rows, fit_validation = train_rows + review_train, validation
    if validation is not None and review_train:  # reviewed rows share the threshold slice, as the seed rows do
        review_fit, review_validation = validation_slice(review_train)
        fit_rows, fit_validation = train_rows + review_fit, validation + review_validation
    log.info("training", rows=len(fit_rows), validation=len(fit_validation or []), reviews=len(review_train))
    model = train(fit_rows, validation=fit_validation, **params)
    scores = _scores(model, heldout=heldout, isca_test=isca_test, review_heldout=review_heldout, checks=checks)
    if review_card is not None:
        if not compare:
            review_card["comparison_skipped"] = "not requested (--no-compare)"
        elif not review_train:
            review_card["comparison_skipped"] = "no reviewed labels to train on"
        else:
            log.info("training without reviews for the comparison", rows=len(train_rows))
            baseline = train(train_rows, validation=validation, **params)
            before = _scores(baseline, heldout=heldout, isca_test=isca_test, review_heldout=review_heldout,
                             checks=checks)
            review_card["comparison"] = compare_scores(before, scores)
        data_notes.append({"name": "analysts' reviewed labels (Vigil database, latest label per post)",
                           "licence": "project's own", "credit": "Vigil analysts",
                           "used": f"{review_card['train']} train rows (weight {review_weight}), "
                                   f"{review_card['heldout']} held out for evaluation ({REVIEW_HELDOUT_PERCENT}% by "
                                   f"text), {review_card['dropped_overlap']} dropped as copies of evaluation or "
                                   "training text"})
    supplied = [r for r in train_rows + (validation or [])
                if r.get("source") not in ("isca", *FIT_ONLY_SOURCES, *THRESHOLD_ONLY_SOURCES)]
    sources = sorted({r.get("source", "jsonl") for r in supplied})
    data_notes.append({"name": ", ".join(sources) or "jsonl", "licence": "project's own (Apache-2.0)"
                       if sources == ["seeds"] else "as supplied", "credit": "Vigil project seed examples"
                       if sources == ["seeds"] else "supplied by the trainer",
                       "used": f"{len(supplied)} train rows (weight {seed_weight}), {len(heldout)} held-out rows "
                               "for evaluation"})
    if background:
        data_notes.append({"name": "background corpus (classifiers/background_words.py)",
                           "licence": "project's own (Apache-2.0)", "credit": "Vigil project templates",
                           "used": _background_note([r for r in train_rows if r.get("source") == BACKGROUND_SOURCE])})
    save_model(model, out, training_data=data_notes, scores=scores,
               protocol="isca-temporal" if isca is not None else "hash held-out split", reviews=review_card)
    return model, scores
