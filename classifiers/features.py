"""Hashed character n-grams within words (like char_wb), memoised per word so serving stays fast."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from classifiers.normalize import RawTextTransformer

CACHE_WORDS = 200_000


class CharNgramHasher(RawTextTransformer):
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


# Words (or word starts) that refer to Jews, Israel or Judaism, including coded and slur forms. Nearly every
# antisemitic post names its target; a post naming none can only be antisemitic in ways no n-gram model sees.
TARGET_STEMS: tuple[str, ...] = (
    "jew", "juden", "jude", "judais", "judeo", "hebrew", "semit", "antisemit", "zion", "zio", "israel", "idf",
    "mossad", "synagog", "rabbi", "talmud", "torah", "kosher", "holocaust", "holohoax", "shoah", "auschwitz",
    "kike", "yid", "heeb", "goy", "shekel", "khazar", "rothschild", "soros", "globalist", "zog", "echobrackets",
    "hitler", "nazi", "netanyahu", "tribe", "hanukk", "passover", "shabbat", "sabbath",
    "евре", "еврей", "жид", "иуде", "иудаи", "семит", "антисемит", "сион", "израил", "цахал", "моссад", "синагог",
    "раввин", "талмуд", "тора", "кошер", "холокост", "освенцим", "гой", "хазар", "ротшильд", "сорос",
    "глобалист", "гитлер", "нацис", "нетаньяху", "ханук", "песах", "шаббат",
    "հրեա", "հրեական", "սեմիտ", "հակասեմ", "սիոն", "իսրայել", "մոսադ", "սինագոգ", "ռաբբի", "թալմուդ",
    "հոլոքոստ", "օսվենցիմ", "ռոտշիլդ", "սորոս", "գլոբալիստ", "հիտլեր", "նացիստ", "նեթանյահու", "հանուկա",
    "պասեք",
)
_TARGET = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, TARGET_STEMS), key=len, reverse=True)) + ")",
                     re.IGNORECASE)


class TargetMention(RawTextTransformer):
    """One column: 1 when a normalised text names no Jewish/Israeli target (see TARGET_STEMS), else 0."""

    def fit(self, X: Iterable[str], y=None):  # noqa: N803
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:  # noqa: N803
        missing = np.array([_TARGET.search(doc) is None for doc in X], dtype=float)
        return sp.csr_matrix(missing.reshape(-1, 1))

