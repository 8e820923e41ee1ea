"""Hashed word 1-2-grams, within-word char n-grams, a slur flag and a no-target flag, built per batch in numpy.

Each batch of normalised texts is split on whitespace once (`SplitTexts`); every step then works on the
batch's distinct words (word tokens, bigram columns and target flags memoised in bounded per-process caches,
a speed-up only, never pickled; char n-grams hashed for the whole batch in numpy) and expands them to the
documents with sparse products or numpy. The matrices are the same as the plain per-text computation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils import murmurhash3_32
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from classifiers.normalize import (
    CACHE_WORDS,
    RawTextTransformer,
    SplitTexts,
    expand_rows,
    normalize_text,
    ragged_rows,
    split_texts,
)
from classifiers.taxonomy import load_taxonomy, tag_batch

# Tokens of at least two word characters; a token never spans whitespace, so each word can be tokenised alone.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN = re.compile(TOKEN_PATTERN)


def _key_type(n_docs: int, n_features: int):
    return np.int32 if n_docs * n_features < 2**31 else np.int64  # the smaller type sorts faster


def count_matrix(doc: np.ndarray, cols: np.ndarray, n_docs: int, n_features: int) -> sp.csr_matrix:
    """Counts of (doc, column) pairs as a CSR matrix with sorted columns and no duplicates."""
    key_type = _key_type(n_docs, n_features)
    n = key_type(n_features)
    keys = doc.astype(key_type)
    keys *= n
    keys += cols
    keys.sort()
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    counts = np.empty(len(starts), dtype=np.float64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1:] = len(keys) - starts[-1:]
    keys = keys[starts]
    if n_features & (n_features - 1) == 0:  # a power of two, as the hashers' sizes are: shifts and masks
        shift = n_features.bit_length() - 1
        rows = keys >> shift
        keys &= n - 1  # now the column of each count
    else:
        rows = keys // n
        keys -= rows * n
    index_type = np.int32 if len(keys) < 2**31 and n_features <= 2**31 else np.int64
    indptr = np.searchsorted(rows, np.arange(n_docs + 1, dtype=key_type)).astype(index_type)
    matrix = sp.csr_matrix((counts, keys.astype(index_type, copy=False), indptr), shape=(n_docs, n_features))
    matrix.has_sorted_indices = True
    return matrix


def _cached(owner, name: str) -> dict:
    """A per-process cache stored on `owner`, emptied when it holds CACHE_WORDS entries, never pickled."""
    cache = owner.__dict__.setdefault(name, {})
    if len(cache) >= CACHE_WORDS:
        cache.clear()
    return cache


def hash_column(text: str, n_features: int) -> int:
    """The column sklearn's FeatureHasher gives `text` with alternate_sign=False."""
    return abs(murmurhash3_32(text)) % n_features


_WORD_CACHES = ("_word_tokens", "_token_ids", "_token_list", "_token_cols", "_pair_cols")


class _PairColumns:
    """Bigram (first token id << 32 | second token id) -> its column, in sorted arrays, so that a batch's distinct
    pairs are looked up at once; a per-process cache, emptied when it holds CACHE_WORDS pairs."""

    def __init__(self):
        self.keys = np.zeros(0, dtype=np.int64)
        self.cols = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def columns(self, pairs: np.ndarray, token_list: list[str], n_features: int) -> np.ndarray:
        """The columns of sorted distinct `pairs`, hashing the strings of the pairs not seen before."""
        if len(self.keys) >= CACHE_WORDS:
            self.__init__()
        at = np.searchsorted(self.keys, pairs)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == pairs[known]
        out = np.empty(len(pairs), dtype=np.int64)
        out[known] = self.cols[at[known]]
        new = ~known
        if not new.any():  # the usual case once warm: nothing to hash or insert
            return out
        out[new] = [hash_column(f"{token_list[p >> 32]} {token_list[p & 0xFFFFFFFF]}", n_features)
                    for p in pairs[new].tolist()]
        self.keys = np.insert(self.keys, at[new], pairs[new])
        self.cols = np.insert(self.cols, at[new], out[new])
        return out


class WordNgramHasher(RawTextTransformer):
    """Counts of word 1-2-grams hashed into `n_features` columns.

    The same matrix as HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=TOKEN_PATTERN,
    lowercase=False, alternate_sign=False, norm=None), so a gram's column is FeatureHasher's; but each distinct
    word is tokenised once per process and each distinct bigram hashed once per batch.
    """

    def __init__(self, n_features: int = 2**18):
        self.n_features = n_features

    def fit(self, X, y=None):  # noqa: N803
        return self

    def reference(self) -> HashingVectorizer:
        """The scikit-learn vectorizer computing the same matrix, text by text."""
        return HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=self.n_features, lowercase=False,
                                 token_pattern=TOKEN_PATTERN, alternate_sign=False, norm=None)

    def _tokens(self, words: list[str]) -> tuple[list[tuple[int, ...]], list[str], np.ndarray]:
        """Each word's tokens as ids of this process's token table, the table's tokens and their columns."""
        by_word = _cached(self, "_word_tokens")
        table = self.__dict__.get("_token_ids")
        if table is None or not by_word:  # token ids live as long as the words that refer to them
            table = self.__dict__["_token_ids"] = {}
            self._token_list, self._token_cols = [], np.zeros(0, dtype=np.int64)
            self._pair_cols = _PairColumns()
        new_tokens = []
        out = []
        for word in words:
            ids = by_word.get(word)
            if ids is None:
                ids = []
                for token in _TOKEN.findall(word):
                    tid = table.get(token)
                    if tid is None:
                        tid = table[token] = len(table)
                        new_tokens.append(token)
                    ids.append(tid)
                ids = by_word[word] = tuple(ids)
            out.append(ids)
        if new_tokens:
            self._token_list += new_tokens
            cols = [hash_column(t, self.n_features) for t in new_tokens]
            self._token_cols = np.concatenate([self._token_cols, np.array(cols, dtype=np.int64)])
        return out, self._token_list, self._token_cols

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:  # noqa: N803
        batch = split_texts(X)
        per_word, token_list, token_cols = self._tokens(batch.words)
        tokens, doc = expand_rows(*ragged_rows(per_word), batch.ids, batch.doc)
        # A bigram is two neighbouring tokens of one text; each distinct pair's string is hashed once per process.
        same_doc = doc[1:] == doc[:-1]
        pairs = (tokens[:-1][same_doc].astype(np.int64) << 32) | tokens[1:][same_doc]
        distinct, inverse = np.unique(pairs, return_inverse=True)
        pair_cols = self._pair_cols.columns(distinct, token_list, self.n_features)
        cols = np.concatenate([token_cols[tokens], pair_cols[inverse]])
        docs = np.concatenate([doc, doc[:-1][same_doc]])
        return count_matrix(docs, cols, len(batch), self.n_features)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in _WORD_CACHES}


# The char n-gram hash: multiply-xor over the gram's code points, then the splitmix64 finaliser, in uint64
# arithmetic that wraps. numpy computes it for every gram of a batch at once; `gram_column` is the same for one.
_GRAM_SEED = np.uint64(0x9E3779B97F4A7C15)
_GRAM_MULTIPLIER = np.uint64(0x100000001B3)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_U64 = 2**64 - 1


def _finalise(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


def gram_column(gram: str, n_features: int) -> int:
    """The column CharNgramHasher gives one char n-gram, computed in plain Python (the reference)."""
    h = ord(gram[0]) ^ int(_GRAM_SEED)
    for ch in gram[1:]:
        h = ((h * int(_GRAM_MULTIPLIER)) & _U64) ^ ord(ch)
    h ^= len(gram)
    h ^= h >> 30
    h = (h * int(_MIX1)) & _U64
    h ^= h >> 27
    h = (h * int(_MIX2)) & _U64
    h ^= h >> 31
    return h % n_features


class CharNgramHasher(RawTextTransformer):
    """Counts of the char n-grams of each space-padded word, hashed into `n_features` columns.

    Stateless (no fit needed), no cache: with `gram_hash="splitmix64"` the grams of a batch's distinct words are
    hashed together in numpy (a few operations per code point, see `gram_column`), so a post full of words never
    seen before (handles, tags, names) costs little more than one of common words. Hashers pickled before that
    hash existed unpickle as `gram_hash="murmur3"` (one murmurhash3 call per gram, as they were trained), so
    older models keep their columns.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), n_features: int = 2**18,
                 gram_hash: str = "splitmix64"):
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.gram_hash = gram_hash

    def __setstate__(self, state: dict) -> None:
        state.setdefault("gram_hash", "murmur3")  # pickled before the numpy hash: keep the columns it learned
        super().__setstate__(state)

    def fit(self, X, y=None):  # noqa: N803
        return self

    def grams(self, word: str) -> list[str]:
        """The padded word's n-grams; a padded word shorter than the smallest n is one gram."""
        lo, hi = self.ngram_range
        padded = f" {word} "
        if len(padded) < lo:
            return [padded]
        return [padded[i:i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]

    def word_rows(self, words: Sequence[str]) -> sp.csr_matrix:
        """(words, n_features) counts of each word's padded char n-grams."""
        if self.gram_hash == "murmur3":
            return self._murmur_rows(words)
        if self.gram_hash != "splitmix64":
            raise ValueError(f"unknown gram_hash {self.gram_hash!r}")
        lo, hi = self.ngram_range
        if not words:
            return sp.csr_matrix((0, self.n_features))
        codes = np.frombuffer("".join([f" {w} " for w in words]).encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.uint64)
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
        word_of = np.repeat(np.arange(len(words), dtype=np.int32), lengths)
        room = np.arange(len(codes), dtype=np.int64)  # code points left in the padded word from each position
        room -= np.repeat(np.cumsum(lengths), lengths)
        np.negative(room, out=room)
        h = codes ^ _GRAM_SEED
        rows, cols = [], []
        for n in range(1, hi + 1):
            if n > 1:
                h = h[:-1] * _GRAM_MULTIPLIER  # h[i] now hashes codes[i : i + n]
                h ^= codes[n - 1:]
            if n >= lo:
                whole = room[:len(h)] >= n  # the gram stays inside its padded word
                g = _finalise(h[whole] ^ np.uint64(n))
                rows.append(word_of[:len(h)][whole])
                cols.append(g % np.uint64(self.n_features))
        short = np.flatnonzero(lengths < lo)  # only with a smallest n above 3: the whole padded word is the gram
        rows.append(short.astype(np.int32))
        cols.append(np.array([gram_column(f" {words[i]} ", self.n_features) for i in short], dtype=np.uint64))
        row, col = np.concatenate(rows), np.concatenate(cols).astype(np.int32)
        return sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(len(words), self.n_features))

    def _murmur_rows(self, words: Sequence[str]) -> sp.csr_matrix:
        columns = [[murmurhash3_32(g, positive=True) % self.n_features for g in self.grams(w)] for w in words]
        flat, starts, lengths = ragged_rows(columns, np.int32)
        indptr = np.append(starts, starts[-1:] + lengths[-1:]) if columns else np.zeros(1, dtype=np.int64)
        return sp.csr_matrix((np.ones(len(flat)), flat, indptr), shape=(len(words), self.n_features))

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:  # noqa: N803
        batch = split_texts(X)
        return word_counts(batch) @ self.word_rows(batch.words)


def word_counts(batch: SplitTexts) -> sp.csr_matrix:
    """(texts, distinct words of the batch) occurrence counts."""
    ones = np.ones(len(batch.ids))
    return sp.csr_matrix((ones, (batch.doc, batch.ids)), shape=(len(batch), len(batch.words)))


# Words (or word starts) that refer to Jews, Israel or Judaism, including coded and slur forms. Nearly every
# antisemitic post names its target; a post naming none can only be antisemitic in ways no n-gram model sees.
TARGET_STEMS: tuple[str, ...] = (
    "jew", "juden", "jude", "judais", "judeo", "hebrew", "semit", "antisemit", "zion", "zio", "israel", "idf",
    "mossad", "synagog", "rabbi", "talmud", "torah", "kosher", "holocaust", "holohoax", "shoah", "auschwitz",
    "kike", "kyke", "sheeny", "sheenie", "sheeney", "hooknose", "hook-nose", "zhid", "yid", "heeb", "goy", "shekel",
    "khazar", "rothschild", "soros", "globalist", "zog", "echobrackets",
    "hitler", "nazi", "netanyahu", "tribe", "hanukk", "passover", "shabbat", "sabbath",
    "евре", "еврей", "жид", "иуде", "иудаи", "семит", "антисемит", "сион", "израил", "цахал", "моссад", "синагог",
    "раввин", "талмуд", "тора", "кошер", "холокост", "освенцим", "гой", "хазар", "ротшильд", "сорос",
    "глобалист", "гитлер", "нацис", "нетаньяху", "ханук", "песах", "шаббат",
    "հրեա", "հրեական", "սեմիտ", "հակասեմ", "սիոն", "իսրայել", "մոսադ", "սինագոգ", "ռաբբի", "թալմուդ",
    "հոլոքոստ", "օսվենցիմ", "ռոտշիլդ", "սորոս", "գլոբալիստ", "հիտլեր", "նացիստ", "նեթանյահու", "հանուկա", "ջհուդ",
    "պասեք",
    "jüd", "weltjud", "koscher", "netanjahu", "chanukka", "pessach", "schabbat",
)


def _stems_by_first_character(stems: Sequence[str]) -> str:
    """The alternation of `stems`, grouped by first character: the regex engine tries each branch in turn, so a
    position fails after one test per first character instead of one per stem."""
    by_first: dict[str, set[str]] = {}
    for stem in stems:
        by_first.setdefault(stem[0], set()).add(stem[1:])
    return "|".join(re.escape(first) + "(?:" + "|".join(map(re.escape, sorted(rests, key=len, reverse=True))) + ")"
                    for first, rests in sorted(by_first.items()))


# A stem at a word start; whitespace is never \w, so searching each whitespace-split word finds the same.
_TARGET = re.compile(r"(?<!\w)(?:" + _stems_by_first_character(TARGET_STEMS) + ")", re.IGNORECASE)


def names_target(text: str) -> bool:
    """True when a raw text, normalised, names a Jewish or Israeli target (see TARGET_STEMS)."""
    return _TARGET.search(normalize_text(text)) is not None


# Slurs for Jews, with their inflected Russian (and transliterated) forms and any Armenian one; every one also
# names a target (TARGET_STEMS), so the no-target flag never cancels this one. Russian "жид" is matched as the
# noun and its derivatives only: "жидкий" (liquid), "жиденький" (thin) and names like Жидачов are other words.
# Quoting or condemning a slur is not antisemitic, which the n-gram model weighs: many ISCA posts holding one
# are labelled not antisemitic, while most seed rows holding one are antisemitic.
# Known miss-hit: "Kike", a Spanish nickname (sports news in Spanish, a language the model does not cover).
_SLUR = re.compile(r"(?<!\w)(?:kikes?|kykes?|jew-?boys?|sheen(?:y|ies|ie|ey|eys)|hook-?nose(?:s|d)?"
                   r"|zhid(?:s|y|a|u|ov|ami|am|ovk\w*|ovsk\w*)?"
                   r"|жид(?:а|у|ом|е|ы|ов|ам|ами|ах|овк\w*|овск\w*|овн\w*|овь\w*|омасон\w*|яр\w*|ёнок|ёнк\w*|енят\w*)?"
                   r"|ջհուդ\w*)(?!\w)")


class _WordPatternFlag(RawTextTransformer):
    """One column from a regex searched in each word of a normalised text (no pattern spans whitespace), each
    distinct word searched once per process."""

    _pattern: re.Pattern[str]
    _when_found: bool  # the column is 1 when some word matches (else: when none does)

    def fit(self, X, y=None):  # noqa: N803
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:  # noqa: N803
        batch = split_texts(X)
        cache = _cached(self, "_cache")
        pattern = self._pattern
        found = np.fromiter((cache[w] if w in cache else cache.setdefault(w, pattern.search(w) is not None)
                             for w in batch.words), dtype=bool, count=len(batch.words))
        hits = np.bincount(batch.doc, weights=found[batch.ids], minlength=len(batch))
        return sp.csr_matrix(((hits > 0) if self._when_found else (hits == 0)).astype(float).reshape(-1, 1))

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}


class TargetMention(_WordPatternFlag):
    """One column: 1 when a normalised text names no Jewish/Israeli target (see TARGET_STEMS), else 0."""

    _pattern, _when_found = _TARGET, False


class SlurMention(_WordPatternFlag):
    """One column: 1 when a normalised text holds a slur for Jews (see _SLUR), else 0."""

    _pattern, _when_found = _SLUR, True


class TriggerFlags(RawTextTransformer):
    """One column per trigger of the packaged taxonomy (the ids known at fit), plus one for "any trigger": which
    events a normalised text names, by the taxonomy's terms, at `weight`. For the categoriser: blame tied to an
    event and denial around a remembrance day read differently from the same words without one.

    A trigger added to the YAML after fitting has no column; one removed reads as never named. Model.predict
    hands the union the tags it made with the taxonomy in use (SplitOnceUnion.transform's `tags`), so an edit of
    the YAML reaches these columns as it reaches the triggers, and no text is tagged twice.
    """

    def __init__(self, weight: float = 0.3):
        self.weight = weight

    def fit(self, X, y=None):  # noqa: N803
        self.ids_ = load_taxonomy().ids
        return self

    def transform(self, X) -> sp.csr_matrix:  # noqa: N803
        """The columns of normalised texts tagged by the packaged triggers.yaml, as at fit: every trigger whatever
        its active dates."""
        return self.flags(tag_batch(split_texts(X), load_taxonomy()))

    def flags(self, tagged: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """The columns of texts with these trigger ids (every trigger whatever its dates, as `transform`)."""
        column = {tid: i for i, tid in enumerate(self.ids_)}
        any_trigger = len(self.ids_)
        rows: list[int] = []
        cols: list[int] = []
        for row, tags in enumerate(tagged):
            named = [column[t] for t in tags if t in column]
            if named:
                rows += [row] * (len(named) + 1)
                cols += [*named, any_trigger]
        return sp.csr_matrix((np.full(len(rows), self.weight), (rows, cols)), shape=(len(tagged), any_trigger + 1))



class SublinearTfidf(TransformerMixin, BaseEstimator):
    """TfidfTransformer(sublinear_tf=True) (smooth idf, l2-normalised rows) without its validation copies.

    `idf_` is learned at fit as scikit-learn learns it; transform gives the same matrix up to float rounding,
    sharing the input's `indices` and `indptr` (the hashers make a fresh matrix per batch) but never changing it.
    """

    def fit(self, X, y=None):  # noqa: N803
        X = sp.csr_matrix(X)
        df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64) + 1.0
        self.idf_ = np.log(np.full_like(df, X.shape[0] + 1) / df) + 1.0
        return self

    def transform(self, X) -> sp.csr_matrix:  # noqa: N803
        X = X if sp.issparse(X) and X.format == "csr" else sp.csr_matrix(X)
        tf = self.idf_.take(X.indices)  # a new array: the input is never changed
        # Most counts are 1, whose weight 1 + log(1) is 1 exactly: the logarithm runs on the others only.
        many = np.flatnonzero(X.data != 1)
        with np.errstate(divide="ignore"):
            tf[many] *= np.log(X.data[many].astype(np.float64, copy=False)) + 1.0
        out = sp.csr_matrix((tf, X.indices, X.indptr), shape=X.shape)
        inplace_csr_row_normalize_l2(out)
        return out


class SplitOnceUnion(FeatureUnion):
    """A FeatureUnion whose steps all read one whitespace split of the batch (SplitTexts), made once."""

    def fit(self, X, y=None, **params):  # noqa: N803
        return super().fit(split_texts(X), y, **params)

    def fit_transform(self, X, y=None, **params):  # noqa: N803
        return super().fit_transform(split_texts(X), y, **params)

    def transform(self, X, tags: Sequence[Sequence[str]] | None = None):  # noqa: N803
        """The steps' columns side by side; with `tags` (each text's trigger ids, already tagged), the TriggerFlags
        steps take them instead of tagging the texts again with the packaged taxonomy."""
        X = split_texts(X)
        if tags is None:
            return super().transform(X)
        blocks = []
        for _, step, weight in self._iter():  # FeatureUnion's own: drop and passthrough resolved, with weights
            block = step.flags(tags) if isinstance(step, TriggerFlags) else step.transform(X)
            blocks.append(block if weight is None else block * weight)
        return self._hstack(blocks)
