"""Emerging terms: words and phrases whose share rose most against a baseline window.

Log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words",
section 3.5.1): for term w with counts y_t, y_b in the target and baseline corpora (totals n_t, n_b) and
prior pseudo-counts a_w (summing to a_0),

    delta_w = log((y_t + a_w) / (n_t + a_0 - y_t - a_w)) - log((y_b + a_w) / (n_b + a_0 - y_b - a_w))
    var_w  ~= 1 / (y_t + a_w) + 1 / (y_b + a_w)          z_w = delta_w / sqrt(var_w)

The prior shrinks rare terms towards zero, so a word seen twice does not outrank a real shift.
Pure functions: the caller picks the posts (e.g. antisemitic posts of one country in two windows).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from classifiers.model import STOPWORDS
from classifiers.normalize import ECHO_TOKEN, EMAIL_TOKEN, URL_TOKEN, USER_TOKEN, normalize_text

_WORD = re.compile(r"\w\w+")
# The masks normalisation writes in place of links, handles, e-mail addresses and echo brackets, as _WORD finds
# them (upper case: normalised text is case-folded, so no word of a post has these forms).
_PLACEHOLDERS = frozenset(_WORD.findall(" ".join((URL_TOKEN, USER_TOKEN, ECHO_TOKEN, EMAIL_TOKEN))))


@dataclass(frozen=True)
class EmergingTerm:
    term: str
    z: float  # > 0: more frequent in the target window than the prior and baseline explain
    delta: float  # the log-odds ratio itself
    target_count: int
    baseline_count: int


def term_counts(texts: Iterable[str], max_n: int = 2) -> Counter[str]:
    """How many texts hold each word 1..max_n-gram (once per text, so one post repeating a word does not make it
    a trend, and the counts are posts); n-grams starting or ending with a stopword are skipped."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = [w for w in _WORD.findall(normalize_text(text)) if w not in _PLACEHOLDERS and not w.isdigit()]
        grams = {" ".join(words[i:i + n]) for n in range(1, max_n + 1) for i in range(len(words) - n + 1)
                 if words[i] not in STOPWORDS and words[i + n - 1] not in STOPWORDS}
        counts.update(grams)
    return counts


def emerging_terms(target: Iterable[str] | Mapping[str, int], baseline: Iterable[str] | Mapping[str, int], *,
                   prior: Mapping[str, int] | None = None, prior_strength: float | None = None,
                   min_count: int = 3, top: int = 30, max_n: int = 2) -> list[EmergingTerm]:
    """Terms ranked by the z-score of their log-odds ratio (target vs baseline), highest first.

    `target` and `baseline` are texts or ready term counts. The prior's shape comes from `prior` counts
    (default: target + baseline pooled); `prior_strength` is its total a_0 (default: the prior's own total).
    Only terms seen at least `min_count` times in the target and with z > 0 are returned, at most `top`.
    """
    t_counts = target if isinstance(target, Mapping) else term_counts(target, max_n)
    b_counts = baseline if isinstance(baseline, Mapping) else term_counts(baseline, max_n)
    if prior is None:
        prior = Counter(t_counts)
        prior.update(b_counts)
    prior_total = sum(prior.values())
    n_t, n_b = sum(t_counts.values()), sum(b_counts.values())
    if not n_t or not prior_total:
        return []
    a0 = float(prior_strength if prior_strength is not None else prior_total)
    out = []
    for term, y_t in t_counts.items():
        if y_t < min_count:
            continue
        # Terms absent from a supplied prior get half a pseudo-count, so they stay finite but are not favoured.
        a_w = a0 * max(prior.get(term, 0), 0.5) / prior_total
        y_b = b_counts.get(term, 0)
        if min(n_t + a0 - y_t - a_w, n_b + a0 - y_b - a_w) <= 0:
            continue  # a single-term vocabulary has no odds to compare
        delta = (math.log((y_t + a_w) / (n_t + a0 - y_t - a_w))
                 - math.log((y_b + a_w) / (n_b + a0 - y_b - a_w)))
        z = delta / math.sqrt(1.0 / (y_t + a_w) + 1.0 / (y_b + a_w))
        if z > 0:
            out.append(EmergingTerm(term, round(z, 4), round(delta, 4), int(y_t), int(y_b)))
    out.sort(key=lambda e: (-e.z, e.term))
    return out[:top]
