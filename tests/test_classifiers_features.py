"""Batch featurisers: the same matrices as the plain per-text computation, the flags last, no state kept."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from classifiers.features import (
    _TARGET,
    CharNgramHasher,
    SlurMention,
    SplitOnceUnion,
    gram_column,
    SublinearTfidf,
    TargetMention,
    TriggerFlags,
    WordNgramHasher,
)
from classifiers.model import make_features
from classifiers.normalize import normalize_batch, split_texts

TEXTS = [
    "the jews and zionists run it", "", "   ", "a b c", "israel sold drones to azerbaijan",
    "евреи и израиль", "իսրայելը դրոններ է վաճառել", "don't stop-me now, ok? ok!", "x" * 80,
    "ECHOBRACKETS they know URL @USER", "the the the the", "antisemitism #jews anti-semitic",
    "12 ab_cd __ 1a2b", "𝔍𝔢𝔴 😀 é\u0301 ж", "one-letter a words i o", "the jews and zionists run it",
]


def _same(a, b) -> bool:
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


@pytest.mark.parametrize("bits", [18, 10])
def test_word_ngrams_are_sklearns_hashing_vectorizer(bits):
    hasher = WordNgramHasher(2**bits)
    assert _same(hasher.transform(TEXTS), hasher.reference().transform(TEXTS))
    assert _same(hasher.transform(TEXTS[3:]), hasher.reference().transform(TEXTS[3:]))  # warm caches
    assert hasher.reference().build_analyzer()("ab cd ef") == ["ab", "cd", "ef", "ab cd", "cd ef"]


def test_char_ngrams_count_each_padded_words_grams():
    hasher = CharNgramHasher((2, 5), 2**12)
    matrix = hasher.transform(TEXTS).toarray()
    for row, text in zip(matrix, TEXTS, strict=True):
        expected = np.zeros(2**12)
        for word in text.split():
            padded = f" {word} "
            for n in range(2, 6):
                for i in range(len(padded) - n + 1):
                    expected[gram_column(padded[i:i + n], 2**12)] += 1
        assert np.array_equal(row, expected)
    sparse = hasher.transform(TEXTS)  # columns may come unsorted, but each (text, column) is stored once
    assert sparse.nnz == np.count_nonzero(matrix)
    empty = hasher.transform(["", "   "])
    assert empty.shape == (2, 2**12) and empty.nnz == 0
    assert hasher.transform([]).shape == (0, 2**12)


def test_gram_columns_spread_and_depend_on_every_code_point():
    grams = [f"{a}{b}" for a in "abcdefghijklmnopqrstuvwxyzабвгдеж" for b in " abcdefghijklmnop"]
    cols = [gram_column(g, 2**18) for g in grams]
    assert len(set(cols)) >= len(grams) - 2  # 561 grams into 262,144 columns: next to no collisions
    assert gram_column("ab", 2**18) != gram_column("ba", 2**18) != gram_column(" ab", 2**18)
    assert all(0 <= gram_column(g, 2**11) < 2**11 for g in grams)


def test_target_flag_is_one_when_no_target_is_named():
    flags = TargetMention().transform(TEXTS).toarray().ravel()
    assert flags.tolist() == [float(_TARGET.search(t) is None) for t in TEXTS]
    assert flags[0] == 0 and flags[1] == 1 and flags[11] == 0  # "#jews" and "anti-semitic" name a target


def test_slur_flag_is_one_for_a_slur_in_any_covered_language_and_form():
    raw = ["those k1kes again", "KIKE", "жидов надо гнать", "проклятые жидомасоны", "ջհուդները", "zhidy", "a jew-boy",
           "sheenies", "a hooknosed banker", "hook-nose",
           "жидкость для стекол", "жиденький суп", "вокзал в Жидачове", "the jews of Baku", "Mike and Ike", "kiked",
           "", "yiddish class", "Charlie Sheen", "the sheen of the floor", "hook and nose"]
    batch = normalize_batch(raw)
    flags = SlurMention().transform(batch).toarray().ravel().tolist()
    assert flags == [1.0] * 10 + [0.0] * 11  # liquid, thin, a town, a shine: other words
    # Every slur names a target too: the no-target flag never cancels the slur flag.
    assert TargetMention().transform(batch[:10]).toarray().ravel().tolist() == [0.0] * 10


def test_features_shape_flags_last_and_rows_depend_only_on_their_text():
    features = make_features(word_bits=10, char_bits=11).fit(TEXTS)
    matrix = features.transform(TEXTS).tocsr()
    assert isinstance(features, SplitOnceUnion)
    assert matrix.shape == (len(TEXTS), 2**10 + 2**11 + 2)
    flag = matrix[:, -1].toarray().ravel()
    assert flag.tolist() == TargetMention().transform(TEXTS).toarray().ravel().tolist()
    assert matrix[:, -2].toarray().ravel().tolist() == SlurMention().transform(TEXTS).toarray().ravel().tolist()
    assert _same(matrix[0], matrix[len(TEXTS) - 1])  # same text twice, same row
    empty = matrix[1]
    assert empty.nnz == 1 and empty[0, -1] == 1.0  # an empty text has only the no-target flag
    one_by_one = sp.vstack([features.transform([t]) for t in TEXTS])
    assert np.allclose(one_by_one.toarray(), matrix.toarray(), rtol=0, atol=1e-12)
    assert _same(features.transform(split_texts(TEXTS)), matrix)


def test_columns_are_deterministic_and_caches_are_not_pickled():
    first = make_features(word_bits=10, char_bits=11).fit(TEXTS)
    matrix = first.transform(TEXTS)
    state = pickle.dumps(first)
    assert b"_token_ids" not in state and b"_word_tokens" not in state and b"_cache" not in state
    assert b"_pair_cols" not in state
    again = pickle.loads(state)
    assert _same(again.transform(TEXTS), matrix)
    fresh = make_features(word_bits=10, char_bits=11).fit(list(reversed(TEXTS)))
    assert _same(fresh.transform(TEXTS), matrix)  # idf is order-free; hashed columns need no vocabulary


def test_empty_batch_and_normalised_batches():
    for step, width in ((WordNgramHasher(2**10), 2**10), (CharNgramHasher((2, 5), 2**11), 2**11),
                        (TargetMention(), 1), (SlurMention(), 1)):
        assert step.transform([]).shape == (0, width)
    features = make_features(word_bits=10, char_bits=11).fit(TEXTS)
    raw = ["The J3WS run it", "", "Israel and Baku"]
    batch = normalize_batch(raw)
    assert _same(features.transform(batch), features.transform(list(batch)))


def test_caches_are_bounded(monkeypatch):
    import classifiers.features as features_module

    monkeypatch.setattr(features_module, "CACHE_WORDS", 5)
    hasher, plain = WordNgramHasher(2**10), WordNgramHasher(2**10).reference()
    for start in range(0, len(TEXTS), 3):
        batch = TEXTS[start:start + 3]
        assert _same(hasher.transform(batch), plain.transform(batch))
    assert len(hasher._word_tokens) <= 5 + 3 * 10
    assert len(hasher._pair_cols) <= 5 + 3 * 10


def _sklearn_tfidf():
    return TfidfTransformer(sublinear_tf=True)  # smooth_idf=True, norm="l2", as make_features used to build


def _close(a, b) -> bool:
    return a.shape == b.shape and np.allclose(sp.csr_matrix(a).toarray(), sp.csr_matrix(b).toarray(), rtol=0,
                                              atol=1e-12)


@pytest.mark.parametrize("hasher", [WordNgramHasher(2**10), CharNgramHasher((2, 5), 2**11)])
def test_sublinear_tfidf_is_sklearns_tfidf_transformer(hasher):
    counts = hasher.transform(TEXTS)
    ours, theirs = SublinearTfidf().fit(counts), _sklearn_tfidf().fit(counts)
    assert np.allclose(ours.idf_, theirs.idf_, rtol=0, atol=1e-12)
    before = counts.copy()
    assert _close(ours.transform(counts), theirs.transform(counts))
    assert _same(counts, before)  # the input is left as it was
    other = hasher.transform(["a different batch of posts about israel", "", "zzzz qqqq"])
    assert _close(ours.transform(other), theirs.transform(other))


def test_sublinear_tfidf_large_fractional_and_unseen_columns():
    rng = np.random.default_rng(0)
    fit_on = sp.random(40, 30, density=0.2, format="csr", random_state=rng, data_rvs=lambda n: rng.integers(1, 5, n))
    fit_on = sp.csr_matrix(fit_on.multiply(np.r_[np.ones(25), np.zeros(5)]))  # columns 25-29 unseen at fit
    fit_on.eliminate_zeros()
    assert fit_on[:, 25:].nnz == 0
    ours, theirs = SublinearTfidf().fit(fit_on), _sklearn_tfidf().fit(fit_on)
    assert np.allclose(ours.idf_, theirs.idf_, rtol=0, atol=1e-12)
    counts = sp.random(10, 30, density=0.5, format="csr", random_state=rng, data_rvs=lambda n: rng.integers(1, 999, n))
    assert counts[:, 25:].nnz and counts.max() > 255  # unseen columns and counts past the lookup table
    assert _close(ours.transform(counts), theirs.transform(counts))
    fractional = counts * 0.37
    assert _close(ours.transform(fractional), theirs.transform(fractional))
    dense = counts.toarray()
    assert _close(ours.transform(dense), theirs.transform(dense))


def test_sublinear_tfidf_empty_rows_and_batches():
    counts = sp.csr_matrix(np.array([[0, 0, 0], [2, 0, 1], [0, 0, 0]], dtype=float))
    tfidf = SublinearTfidf().fit(counts)
    out = tfidf.transform(counts)
    assert np.isfinite(out.data).all() and out[0].nnz == 0 and out[2].nnz == 0
    assert _close(out, _sklearn_tfidf().fit(counts).transform(counts))
    assert tfidf.transform(sp.csr_matrix((0, 3))).shape == (0, 3)


def test_trigger_flags_name_each_trigger_and_any(monkeypatch):
    from classifiers import features as features_module
    from classifiers.taxonomy import load_taxonomy, parse_taxonomy

    flags = TriggerFlags(weight=0.5).fit(["x"])
    ids = load_taxonomy().ids
    assert flags.ids_ == ids
    texts = normalize_batch(["The drone deal between Israel and Azerbaijan again", "Snow in the hills", ""])
    matrix = flags.transform(texts).toarray()
    assert matrix.shape == (3, len(ids) + 1)
    assert matrix[0, ids.index("israel_azerbaijan_ties")] == 0.5 and matrix[0, -1] == 0.5
    assert not matrix[1:].any()
    # A YAML edited after fitting: a new trigger has no column, a removed one reads as not named.
    edited = parse_taxonomy({"triggers": [{"id": "brand_new", "terms": {"en": ["drone*"]}}]})
    monkeypatch.setattr(features_module, "load_taxonomy", lambda: edited)
    assert not flags.transform(texts).toarray().any()


def test_hashers_pickled_before_the_numpy_hash_keep_their_murmur_columns():
    from sklearn.utils import murmurhash3_32

    state = CharNgramHasher((2, 5), 2**12).__getstate__()
    del state["gram_hash"]  # as pickled before the attribute existed
    old = CharNgramHasher.__new__(CharNgramHasher)
    old.__setstate__(state)
    assert old.gram_hash == "murmur3"
    matrix = old.transform(TEXTS).toarray()
    for row, text in zip(matrix, TEXTS, strict=True):
        expected = np.zeros(2**12)
        for word in text.split():
            for gram in old.grams(word):
                expected[murmurhash3_32(gram, positive=True) % 2**12] += 1
        assert np.array_equal(row, expected)
    assert CharNgramHasher().gram_hash == "splitmix64"  # new hashers use the batch hash
    assert np.array_equal(pickle.loads(pickle.dumps(old)).transform(TEXTS).toarray(), matrix)


def test_a_padded_word_shorter_than_the_smallest_n_is_one_gram():
    hasher = CharNgramHasher((4, 5), 2**12)
    row = hasher.transform(["a bb"]).toarray()[0]
    expected = np.zeros(2**12)
    expected[gram_column(" a ", 2**12)] += 1  # " a " has 3 code points: one whole gram
    for gram in (" bb ",):  # " bb " has 4: one 4-gram, no 5-gram
        expected[gram_column(gram, 2**12)] += 1
    assert np.array_equal(row, expected)
    assert hasher.grams("a") == [" a "]


def test_target_stems_grouped_by_first_character_find_what_the_plain_alternation_finds():
    """_TARGET's alternation is grouped by first character for speed; the plain alternation of TARGET_STEMS is
    the reference (case-insensitive, at a word start)."""
    import random
    import re

    from classifiers.features import TARGET_STEMS

    plain = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, TARGET_STEMS)) + ")", re.IGNORECASE)
    rng = random.Random(2)
    pieces = [*TARGET_STEMS, *(s.upper() for s in TARGET_STEMS), "x", "_", "-", "#", "1", "ß", "İ", "K", "ſ", "ECHO"]
    words = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 3))) for _ in range(20_000)]
    words += [s[:-1] for s in TARGET_STEMS] + [s.title() for s in TARGET_STEMS] + [w for t in TEXTS for w in t.split()]
    for word in words:
        assert (_TARGET.search(word) is None) == (plain.search(word) is None), word


def test_sublinear_tfidf_takes_logarithms_of_counts_above_one_only():
    """Counts of 1 skip the logarithm (1 + log 1 = 1 exactly): bit for bit what taking it for every count gives."""
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

    rng = np.random.default_rng(4)
    X = sp.random(300, 500, density=0.05, format="csr", random_state=4, data_rvs=lambda n: rng.choice(
        [1.0, 1.0, 1.0, 2.0, 3.0, 0.5, 7.25], n))
    tfidf = SublinearTfidf().fit(X)
    expected = sp.csr_matrix(((np.log(X.data) + 1.0) * tfidf.idf_.take(X.indices), X.indices, X.indptr), X.shape)
    inplace_csr_row_normalize_l2(expected)
    got = tfidf.transform(X)
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)


def _generated_strings(seed: int, n: int) -> list[str]:
    """Strings of ASCII, NFKC-tricky, wide and combining characters, NUL and spaces, of 0 to ~1,000 UTF-8 bytes."""
    import random

    rng = random.Random(seed)
    alphabet = list("abjewsXYZ0135_-.*#@ \x00") + ["é", "e\u0301", "\u00a8", "ﬁ", "ｊ", "\u200b", "ж", "հ", "ß", "ǅ",
                                                  "€", "😀", "𝔍", "\u0308"]
    lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 40, 63, 64, 65, 255, 256, 257, 300]
    return ["".join(rng.choices(alphabet, k=rng.choice(lengths))) for _ in range(n)]


def test_word_ngrams_of_generated_texts_are_sklearns():
    """Texts of long, non-ASCII and NFKC-tricky tokens, in small batches: later batches mix cached and new tokens
    and bigrams. sklearn's HashingVectorizer is the reference."""
    import random

    rng = random.Random(7)
    words = _generated_strings(8, 600)
    texts = [" ".join(rng.choices(words, k=rng.randrange(0, 12))) for _ in range(400)]
    hasher, plain = WordNgramHasher(2**12), WordNgramHasher(2**12).reference()
    for start in range(0, len(texts), 37):
        batch = texts[start:start + 37]
        assert _same(hasher.transform(batch), plain.transform(batch))
