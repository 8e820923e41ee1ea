"""Hashed character n-grams within words (like char_wb), memoised per word so serving stays fast."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import murmurhash3_32

CACHE_WORDS = 200_000


class CharNgramHasher(TransformerMixin, BaseEstimator):
    """Counts of the char n-grams of each space-padded word, hashed into `n_features` columns.

    Stateless (no fit needed). Words repeat across posts, so each word's hashed n-grams are memoised in a
    bounded per-process cache, which is a speed-up only and never pickled.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), n_features: int = 2**18):
        self.ngram_range = ngram_range
        self.n_features = n_features

    def fit(self, X: Iterable[str], y=None):  # noqa: N803
        return self

    def _word_columns(self, word: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_cache", {})
        cols = cache.get(word)
        if cols is None:
            lo, hi = self.ngram_range
            padded = f" {word} "
            grams = [padded[i:i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]
            if len(padded) < lo:
                grams = [padded]
            cols = np.array([murmurhash3_32(g, positive=True) % self.n_features for g in grams], dtype=np.int32)
            if len(cache) >= CACHE_WORDS:
                cache.clear()
            cache[word] = cols
        return cols

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:  # noqa: N803
        indptr, parts = [0], []
        for doc in X:
            cols = [self._word_columns(w) for w in doc.split()]
            if cols:
                parts.append(np.concatenate(cols))
                indptr.append(indptr[-1] + len(parts[-1]))
            else:
                indptr.append(indptr[-1])
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        matrix = sp.csr_matrix((np.ones(len(indices)), indices, np.array(indptr)),
                               shape=(len(indptr) - 1, self.n_features))
        matrix.sum_duplicates()
        return matrix

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
