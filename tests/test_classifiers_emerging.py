"""Emerging terms: log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008)."""

import math
from collections import Counter

from classifiers.emerging import emerging_terms, term_counts


def test_term_counts_normalise_and_skip_stopwords_and_masks():
    counts = term_counts(["The DRONES of Baku", "drones, drones https://x.y @someone me@example.org (((they)))"])
    assert counts["drones"] == 2 and counts["baku"] == 1  # posts holding it, not occurrences
    assert "the" not in counts and "of baku" not in counts
    assert not {"URL", "USER", "EMAIL", "ECHOBRACKETS", "drones URL", "URL USER"} & set(counts), counts
    assert counts["(((they)))"] == 1 and "they" not in counts  # the coded form stays, as a term of its own


def test_function_words_of_every_covered_language_start_and_end_no_term():
    counts = term_counts(["Why should they sell drones to Baku?", "Почему они продают дроны Баку?",
                          "Warum verkaufen sie Drohnen an Baku?", "Ինչու են նրանք դրոններ վաճառում Բաքվին"])
    assert not {"why", "should", "they", "почему", "они", "warum", "sie", "ինչու", "նրանք"} & set(counts), counts
    assert {"drones", "дроны", "drohnen", "դրոններ", "sell drones", "продают дроны"} <= set(counts)


def test_rising_term_ranks_first():
    baseline = ["prices went up at the market"] * 20 + ["the jews control the banks"] * 5
    target = ["prices went up at the market"] * 20 + ["the jews sold the drones to baku"] * 15
    terms = emerging_terms(target, baseline)
    assert terms[0].term in {"drones", "baku", "sold", "jews sold", "sold drones", "drones baku"}
    assert {t.term for t in terms[:6]} >= {"drones", "baku"}
    assert all(t.z > 0 for t in terms)
    assert "prices" not in {t.term for t in terms}  # unchanged share: no rise
    assert [t.z for t in terms] == sorted((t.z for t in terms), reverse=True)


def test_matches_the_formula_on_counts():
    target, baseline = Counter({"drone": 30, "news": 70}), Counter({"drone": 5, "news": 95})
    (term,) = [t for t in emerging_terms(target, baseline, min_count=1) if t.term == "drone"]
    a0, a_w = 200.0, 200.0 * 35 / 200
    delta = math.log((30 + a_w) / (100 + a0 - 30 - a_w)) - math.log((5 + a_w) / (100 + a0 - 5 - a_w))
    assert math.isclose(term.delta, delta, abs_tol=1e-4)
    assert math.isclose(term.z, delta / math.sqrt(1 / (30 + a_w) + 1 / (5 + a_w)), abs_tol=1e-4)
    assert (term.target_count, term.baseline_count) == (30, 5)


def test_prior_shrinks_rare_terms_and_min_count_filters():
    target = Counter({"common": 50, "rare": 2, "other": 48})
    baseline = Counter({"common": 20, "other": 80})
    terms = {t.term: t for t in emerging_terms(target, baseline, min_count=1)}
    assert terms["common"].z > terms["rare"].z
    assert "rare" not in {t.term for t in emerging_terms(target, baseline, min_count=3)}


def test_empty_target_gives_nothing():
    assert emerging_terms([], ["some baseline text"]) == []
    assert emerging_terms(Counter({"x": 5}), Counter()) == []


def test_each_post_reads_with_its_own_language_s_function_words():
    counts = term_counts(["the gaza war started", "Die Juden sind am Krieg schuld", "jews must die"],
                         languages=["en", "de-DE", None])
    assert {"gaza war", "war started", "juden", "krieg", "die"} <= set(counts)  # English "war", "die" are words
    assert not {"the", "die juden", "sind", "am", "must"} & set(counts), counts  # German "die" is an article


def test_an_echo_is_the_coded_form_of_its_first_word_past_an_article():
    counts = term_counts(["(((the media))) lies", "drones (((they))) own", "(((Soros)))"], languages=["en"] * 3)
    assert {"(((media)))", "(((they)))", "(((soros)))"} <= set(counts)
    assert not {"(((the)))", "(((own)))", "they"} & set(counts), counts
