"""A logistic regression over n-grams whose probabilities are calibrated together with a few flags.

Plain sigmoid calibration maps an n-gram score to a probability. Here the calibrator also sees the last
`n_flags` feature columns (the shipped model: SlurMention, the post holds a slur for Jews; TargetMention, it
names no Jews, Israel or coded target), so ordinary posts about traffic or prices get a low probability
and posts with a slur a higher one, without the flags reshaping the n-gram weights, which rank posts that
do name a target (fitting the no-target flag inside the n-gram model cost 0.018 validation AUC on ISCA).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold


class FlagCalibratedLR(ClassifierMixin, BaseEstimator):
    """Balanced L2 logistic regression on all columns but the last `n_flags`; Platt scaling on (out-of-fold
    score, those flag columns)."""

    def __init__(self, C: float = 0.5, cv: int = 5, n_flags: int = 1):
        self.C = C
        self.cv = cv
        self.n_flags = n_flags

    def __setstate__(self, state: dict) -> None:
        state.setdefault("n_flags", 1)  # pickled before there could be more than the no-target flag
        super().__setstate__(state)

    def _linear(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", max_iter=1000)

    def fit(self, X, y, sample_weight=None):
        if self.n_flags < 1:
            raise ValueError("n_flags must be at least 1: the last column is the no-target flag")
        X = sp.csr_matrix(X)
        y = np.asarray(y).astype(bool)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        grams, flags = X[:, :-self.n_flags], X[:, -self.n_flags:].toarray()
        oof = np.zeros(len(y))
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=0)
        for train_idx, test_idx in folds.split(grams, y):
            model = clone(self._linear()).fit(grams[train_idx], y[train_idx], sample_weight=w[train_idx])
            oof[test_idx] = model.decision_function(grams[test_idx])
        linear = self._linear().fit(grams, y, sample_weight=w)
        self.coef_ = np.append(linear.coef_[0], np.zeros(self.n_flags))  # the flags carry no n-gram weight
        self.intercept_ = float(linear.intercept_[0])
        self.calibrator_ = LogisticRegression(C=1e4, max_iter=1000).fit(np.c_[oof, flags], y, sample_weight=w)
        self.classes_ = np.array([False, True])
        return self

    def decision_function(self, X):
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def predict_proba(self, X):
        X = sp.csr_matrix(X)
        return self.calibrator_.predict_proba(np.c_[self.decision_function(X), X[:, -self.n_flags:].toarray()])

    def predict(self, X):
        return self.predict_proba(X)[:, 1] >= 0.5
