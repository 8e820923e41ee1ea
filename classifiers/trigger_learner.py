"""A learned trigger component: one logistic regression per trigger, adding to what the YAML terms find.

The YAML taxonomy stays the authority: a learned trigger is reported only when its id is in the taxonomy
loaded at predict time and active on the post's date, so editing or removing an entry still changes tagging
without retraining. The learned part only adds posts that refer to an event in words the terms miss
("the drones that killed our boys were paid with Baku's oil").

It trains on rows that carry a `triggers` list (an empty list is a label too: "no trigger") and reads the
detector's already computed feature matrix, so serving costs one sparse product. Each trigger's threshold
is chosen on out-of-fold probabilities for the best F1 of YAML-or-learned together, never below
`MIN_THRESHOLD`; a trigger with fewer than `MIN_POSITIVES` labelled examples, or whose learned part did not
raise that F1 out of fold, is left to the YAML terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

MIN_POSITIVES = 8
MIN_THRESHOLD = 0.5
C = 4.0


def _linear() -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=1000)


def labelled(rows: Sequence[dict]) -> list[dict]:
    """The rows whose trigger labels are known (a `triggers` key, possibly empty)."""
    return [r for r in rows if isinstance(r.get("triggers"), list)]


class TriggerLearner:
    """Per-trigger linear models over a feature matrix; `predict` gives the learned trigger ids of each row."""

    def __init__(self) -> None:
        self.trigger_ids: list[str] = []
        self.thresholds: dict[str, float] = {}
        self.positives: dict[str, int] = {}
        self.no_gain: list[str] = []
        self.coef_: np.ndarray = np.zeros((0, 0))
        self.intercept_: np.ndarray = np.zeros(0)

    def fit(self, X, labels: Sequence[Sequence[str]], yaml_hits: Sequence[Sequence[str]],  # noqa: N803
            known_ids: Sequence[str]) -> TriggerLearner:
        """Fit on feature rows `X` with gold `labels`; `yaml_hits` (the taxonomy's tags of the same rows) are
        what the learned part adds to, and choose each threshold. Only ids in `known_ids` are learned."""
        X = sp.csr_matrix(X)
        coefs, intercepts = [], []
        for tid in known_ids:
            y = np.array([tid in row for row in labels], dtype=bool)
            self.positives[tid] = int(y.sum())
            if y.sum() < MIN_POSITIVES or (~y).sum() < MIN_POSITIVES:
                continue
            folds = StratifiedKFold(n_splits=min(5, int(y.sum())), shuffle=True, random_state=0)
            oof = cross_val_predict(_linear(), X, y, cv=folds, method="predict_proba")[:, 1]
            yaml = np.array([tid in row for row in yaml_hits], dtype=bool)
            threshold = _best_threshold(y, oof, yaml)
            if threshold > 1.0:  # out of fold, adding it to the terms never raised F1: not kept
                self.no_gain.append(tid)
                continue
            self.thresholds[tid] = threshold
            model = _linear().fit(X, y)
            self.trigger_ids.append(tid)
            coefs.append(model.coef_[0])
            intercepts.append(model.intercept_[0])
        if coefs:
            self.coef_ = np.vstack(coefs)
            self.intercept_ = np.array(intercepts)
        return self

    def probabilities(self, X) -> np.ndarray:  # noqa: N803
        """(rows, learned triggers) probabilities."""
        if not self.trigger_ids:
            return np.zeros((X.shape[0], 0))
        # One product per trigger: X @ coef_.T would copy the (triggers, features) array on every call.
        margin = np.column_stack([X @ w for w in self.coef_]) + self.intercept_
        return 1.0 / (1.0 + np.exp(-margin))

    def predict(self, X) -> dict[int, list[str]]:  # noqa: N803
        """{row: learned trigger ids} for the rows with any (most rows have none, so no list per row); the ids
        are unordered, the caller orders them by the taxonomy."""
        if not self.trigger_ids:
            return {}
        limits = np.array([self.thresholds[t] for t in self.trigger_ids])
        out: dict[int, list[str]] = {}
        for row, col in zip(*np.nonzero(self.probabilities(X) >= limits), strict=True):
            out.setdefault(int(row), []).append(self.trigger_ids[col])
        return out

    def card(self) -> dict:
        """What the model card records: learned ids with their threshold and labelled positives."""
        return {"learned": {t: {"threshold": round(self.thresholds[t], 4), "positives": self.positives[t]}
                            for t in self.trigger_ids},
                "yaml_only": sorted(t for t in self.positives if t not in self.thresholds),
                "no_gain_over_terms": sorted(self.no_gain), "min_positives": MIN_POSITIVES}


def _best_threshold(y: np.ndarray, proba: np.ndarray, yaml: np.ndarray) -> float:
    """The threshold (>= MIN_THRESHOLD) giving the best F1 of `yaml OR proba >= t`: the middle of the thresholds
    that tie for it, so that new posts near the edge of the out-of-fold scores fall on the side they did."""
    candidates = np.unique(np.r_[proba[proba >= MIN_THRESHOLD], MIN_THRESHOLD, 1.0 + 1e-9])
    f1s = np.array([f1_score(y, yaml | (proba >= t), zero_division=0) for t in candidates])
    best = np.flatnonzero(f1s >= f1s.max() - 1e-12)
    if best.max() == len(candidates) - 1:  # the learned part adds nothing useful: keep it off
        return float(candidates[-1])
    return float((candidates[best.min()] + candidates[best.max()]) / 2)


def merge(taxonomy_ids: Sequence[str], yaml_hits: Sequence[str], learned: Sequence[str]) -> list[str]:
    """YAML hits plus learned ids that the taxonomy still lists (and has active), in taxonomy order."""
    wanted = set(yaml_hits) | set(learned)
    return [t for t in taxonomy_ids if t in wanted]


def trigger_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Micro precision/recall/F1 over (row, trigger) pairs, and per-trigger F1."""
    ids = sorted({t for row in gold for t in row} | {t for row in predicted for t in row})
    out: dict = {"rows": len(gold)}
    tp = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted, strict=True))
    fp = sum(len(set(p) - set(g)) for g, p in zip(gold, predicted, strict=True))
    fn = sum(len(set(g) - set(p)) for g, p in zip(gold, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out.update(precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4))
    out["per_trigger_f1"] = {
        t: round(float(f1_score([t in g for g in gold], [t in p for p in predicted], zero_division=0)), 4)
        for t in ids}
    return out
