"""FlagCalibratedLR: n-gram weights from the n-gram columns only, the flags in the calibration."""

import pickle

import numpy as np
import scipy.sparse as sp

from classifiers.calibration import FlagCalibratedLR


def _data(seed: int = 0):
    """Two n-gram columns that rank the rows, a flag that makes a row likelier positive, a flag that makes it less."""
    rng = np.random.default_rng(seed)
    n = 600
    grams = rng.normal(size=(n, 2))
    slur, none = rng.random(n) < 0.2, rng.random(n) < 0.3
    logit = 1.5 * grams[:, 0] + 2.5 * slur - 2.5 * none
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return sp.csr_matrix(np.c_[grams, slur, none]), y


def test_the_flags_reach_the_calibrator_not_the_ngram_weights():
    X, y = _data()
    model = FlagCalibratedLR(C=1.0, cv=3, n_flags=2).fit(X, y)
    assert model.coef_[2:].tolist() == [0.0, 0.0] and model.coef_[0] > 0
    slur_weight, none_weight = model.calibrator_.coef_[0][1:]
    assert slur_weight > 1 and none_weight < -1
    row = np.array([[0.5, 0.0, 0.0, 0.0], [0.5, 0.0, 1.0, 0.0], [0.5, 0.0, 0.0, 1.0]])
    plain, with_slur, without_target = model.predict_proba(sp.csr_matrix(row))[:, 1]
    assert with_slur > plain > without_target


def test_a_model_pickled_before_the_slur_flag_keeps_one_flag():
    X, y = _data(1)
    X = X[:, [0, 1, 3]]  # the n-gram columns and the no-target flag, as models had them
    model = FlagCalibratedLR(C=1.0, cv=3).fit(X, y)
    state = model.__getstate__()
    del state["n_flags"]
    old = FlagCalibratedLR.__new__(FlagCalibratedLR)
    old.__setstate__(state)
    assert old.n_flags == 1
    assert np.array_equal(pickle.loads(pickle.dumps(old)).predict_proba(X), model.predict_proba(X))
