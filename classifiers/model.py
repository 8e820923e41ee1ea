"""The model: one Pipeline from raw text to an antisemitism score, one to a category, triggers from the taxonomy."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from classifiers.calibration import FlagCalibratedLR
from classifiers.categories import NONE
from classifiers.features import (
    _TOKEN,
    CharNgramHasher,
    SlurMention,
    SplitOnceUnion,
    SublinearTfidf,
    TargetMention,
    TriggerFlags,
    WordNgramHasher,
    hash_column,
)
from classifiers.normalize import TextNormalizer, normalize_batch
from classifiers.taxonomy import Taxonomy, load_taxonomy, only_active, tag_batch
from classifiers.trigger_learner import TriggerLearner, merge

BATCH_SIZE = 4096
EXPLAIN_TOP = 5
# Function words never make a useful explanation on their own.
STOPWORDS = frozenset("""the a an is are was were be of to and or that this so in on at for it its as by with from
и в во не за на что это по с со а как к у о из же но ли то и՛ և եւ է են էր որ ու մեր այդ այն իր
der die das den dem des ein eine einen und oder ist sind war im in am an auf zu mit von für es er sie wir""".split())

_ARMENIAN = re.compile("[\u0531-\u058f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UKRAINIAN = re.compile("[іїєґ]", re.IGNORECASE)
_LATIN = re.compile("[a-zA-Z]")
# Function words of the covered Latin-script languages that other Latin-script languages hardly use.
_ENGLISH_WORDS = frozenset("""the and is are were of you your that this with for it they them have not be my she his her
what who but just can about from like how why when there their our been would""".split())  # not "i", "to", "we"
# (Polish), "he", "me" (Spanish), "was" (German)
_GERMAN_WORDS = frozenset("""der das und ist nicht ein eine mit sie wir ich auf den von zu sind dass auch wie aber
noch nur oder wenn dem des sich bei""".split())


@dataclass
class Prediction:
    antisemitic: bool
    score: float
    category: str
    triggers: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    language_covered: bool = True


# The flag columns that close make_features, calibrated with the n-gram score (see FlagCalibratedLR).
N_FLAGS = 2


def make_features(word_bits: int = 18, char_bits: int = 18, char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """Hashed sublinear TF-IDF of word 1-2-grams and within-word char n-grams (`char_ngrams`, each word padded
    with a space), then a slur flag and a no-target flag; no vocabulary.

    The word step gives the same columns as scikit-learn's HashingVectorizer (see WordNgramHasher); all the
    steps read one whitespace split of each batch.
    """
    return SplitOnceUnion([
        ("word", Pipeline([("hash", WordNgramHasher(2**word_bits)), ("tfidf", SublinearTfidf())])),
        ("char", Pipeline([("hash", CharNgramHasher(char_ngrams, 2**char_bits)), ("tfidf", SublinearTfidf())])),
        ("slur", SlurMention()),  # the N_FLAGS flags must stay last: FlagCalibratedLR calibrates on them
        ("target", TargetMention()),
    ])


def make_detector(C: float = 1.0, word_bits: int = 18, char_bits: int = 18, cv: int = 5,  # noqa: N803
                  char_ngrams: tuple[int, int] = (3, 5)) -> Pipeline:
    """Raw text -> calibrated probability of antisemitic: normalise, hash features, logistic regression calibrated
    together with the slur and no-target flags (see classifiers/calibration.py).

    Char 3-5-grams and C=1.0 were chosen on validation rows only (ISCA's latest train-year slice, HateXplain's
    validation split, a seed slice), against 2-5-grams and C=0.5: `bench/detector_validation.py '{}'
    '{"char_ngrams": [2, 5], "C": 0.5}'` prints the comparison for the current recipe. Without the 2-grams a
    post also has fewer char columns, so the char step costs less (bench/classify_speed.py measures predict).
    """
    return Pipeline([
        ("normalize", TextNormalizer()),
        ("features", make_features(word_bits, char_bits, char_ngrams)),
        ("clf", FlagCalibratedLR(C=C, cv=cv, n_flags=N_FLAGS)),
    ])


def make_categorizer(C: float = 1.0, word_bits: int = 16, char_bits: int = 16) -> Pipeline:  # noqa: N803
    """Raw text -> one of the seven antisemitism categories (applied only to posts already flagged).

    A class-balanced linear SVM over the detector's kind of features plus which triggers the text names
    (TriggerFlags): in 5-fold CV on the seed train split it beat a balanced logistic regression, and the
    trigger columns raised its macro F1 (figures in the commit messages of 7aabe39 and dd4e79a).
    """
    words_and_chars = make_features(word_bits, char_bits).transformer_list
    return Pipeline([
        ("normalize", TextNormalizer()),
        ("features", SplitOnceUnion([*words_and_chars, ("triggers", TriggerFlags())])),
        ("clf", LinearSVC(C=C, class_weight="balanced")),
    ])


def explainable_grams(text: str) -> list[str]:
    """The distinct word 1-2-grams of a normalised text, as WordNgramHasher counts them (its analyzer's), but for
    those made of stopwords only; sorted."""
    tokens = _TOKEN.findall(text)
    grams = {t for t in tokens if t not in STOPWORDS}
    grams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS or b not in STOPWORDS)
    return sorted(grams)


def guess_language(text: str) -> str | None:
    """The language of a post that arrives without one: Armenian and Cyrillic (ru / uk) by their letters; a
    Latin-script post holding English or German function words as that language, any other by detection
    (monitor.language: lingua, among the languages Vigil watches and their neighbours), since Polish, Spanish
    or Azerbaijani share the alphabet; None when unsure. Detection costs far more than the rest of predict, so it
    runs only for the posts the function words leave open."""
    if _ARMENIAN.search(text):
        return "hy"
    if _CYRILLIC.search(text):
        return "uk" if _UKRAINIAN.search(text) else "ru"
    if not _LATIN.search(text):
        return None
    words = _TOKEN.findall(text.casefold())
    english, german = sum(w in _ENGLISH_WORDS for w in words), sum(w in _GERMAN_WORDS for w in words)
    if english or german:
        return "en" if english >= german else "de"
    from monitor.language import detect_language  # lingua loads on the first such post

    return detect_language(text)


def base_language(lang: str | None) -> str | None:
    return lang.replace("_", "-").split("-")[0].lower() if lang else None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off, then restored as it was.

    Predicting makes a few containers per post that stay alive (each Prediction and its lists, new cache
    entries) and no reference cycles; the collector, run after every 700 such allocations, would walk them and
    the caches again and again. The objects made meanwhile are examined once, at the next collection after it
    is restored.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Model:
    """A trained detector + categorizer + threshold; triggers come from the (editable) taxonomy at predict time."""

    def __init__(self, detector: Pipeline, categorizer: Pipeline | None, threshold: float, version: str,
                 languages: Sequence[str] = ("en", "ru", "hy"), taxonomy_path: str | None = None,
                 trigger_learner: TriggerLearner | None = None):
        self.detector = detector
        self.trigger_learner = trigger_learner
        self.categorizer = categorizer
        self.threshold = float(threshold)
        self.version = version
        self.languages = tuple(languages)
        self.taxonomy_path = taxonomy_path
        self._taxonomy: Taxonomy | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_taxonomy": None}  # the taxonomy is read from YAML, never pickled

    @property
    def taxonomy(self) -> Taxonomy:
        """The taxonomy set on the model, else the YAML's (`taxonomy_path` or the packaged one) as the file is
        now: an edit changes tagging at the next batch, without retraining or a restart."""
        return self._taxonomy if self._taxonomy is not None else load_taxonomy(self.taxonomy_path)

    def scores(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Calibrated antisemitism probabilities for raw texts, computed in bounded batches."""
        texts = list(texts)
        return np.concatenate([self.detector.predict_proba(texts[start:start + batch_size])[:, 1]
                               for start in range(0, len(texts), batch_size)] or [np.zeros(0)])

    def predict(self, texts: Sequence[str], languages: Sequence[str | None] | None = None, *,
                dates: Sequence[dt.date | None] | None = None, batch_size: int = BATCH_SIZE,
                taxonomy: Taxonomy | None = None) -> list[Prediction]:
        """Classify raw texts in bounded batches; explanation and category are computed for flagged posts only.

        Triggers come from `taxonomy`, else from `self.taxonomy` as it is when the call starts: one version of
        the YAML for the whole call, whose digest the caller may record."""
        texts = list(texts)
        taxonomy = taxonomy if taxonomy is not None else self.taxonomy
        if languages is not None and len(languages) != len(texts):
            raise ValueError("languages must be as long as texts")
        if dates is not None and len(dates) != len(texts):
            raise ValueError("dates must be as long as texts")
        out: list[Prediction] = []
        with _collector_paused():
            for start in range(0, len(texts), batch_size):
                stop = start + batch_size
                out.extend(self._predict_batch(
                    taxonomy,
                    texts[start:stop],
                    languages[start:stop] if languages is not None else [None] * len(texts[start:stop]),
                    dates[start:stop] if dates is not None else [None] * len(texts[start:stop]),
                ))
        return out

    def _predict_batch(self, taxonomy: Taxonomy, texts, languages, dates) -> list[Prediction]:
        normalized = normalize_batch(texts)  # the texts and their word split, read by the features and triggers
        features = self.detector.named_steps["features"].transform(normalized)
        scores = self.detector.named_steps["clf"].predict_proba(features)[:, 1]
        flagged = np.flatnonzero(scores >= self.threshold).tolist()
        flagged_texts = [normalized[i] for i in flagged]
        tags = tag_batch(normalized, taxonomy)  # every trigger whatever its dates: the categoriser reads them so
        categories = dict(zip(flagged, self._categories(flagged_texts, [tags[i] for i in flagged]), strict=True))
        explanations = dict(zip(flagged, self._explain(flagged_texts, features[flagged]), strict=True))
        triggers = self._triggers(taxonomy, tags, features, dates, flagged)
        return [Prediction(antisemitic=i in categories, score=round(score, 4), category=categories.get(i, NONE),
                           triggers=text_triggers, explanation=explanations.get(i, []), language_covered=covered)
                for i, (score, text_triggers, covered) in enumerate(
                    zip(scores.tolist(), triggers, self.languages_covered(texts, languages), strict=True))]

    def languages_covered(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[bool]:
        """Whether each post's language is one the model covers: the language given, else guessed from the text
        (guess_language)."""
        by_code: dict[str | None, bool] = {}  # per language code given; without a base language, guessed per text
        out = []
        for text, given in zip(texts, languages, strict=True):
            covered = by_code.get(given)
            if covered is None:
                base = base_language(given)
                covered = (base or guess_language(text or "")) in self.languages
                if base:  # otherwise the guess depends on the text
                    by_code[given] = covered
            out.append(covered)
        return out

    def _triggers(self, taxonomy: Taxonomy, tags, features, dates, flagged: list[int]) -> list[list[str]]:
        """The taxonomy's term matches for every text (`tags`, tag_batch's without dates) active on its date; for
        the `flagged` (antisemitic) ones, plus the learned part's ids that the taxonomy lists and has active.

        The learned part is trained on labelled seed rows, nearly all antisemitic: on other posts it only
        guessed from a word ("drones" alone got israel_azerbaijan_ties), so neutral posts get the YAML's terms,
        which analysts can read and edit, and nothing else."""
        matched = only_active(taxonomy, tags, dates)
        learner = getattr(self, "trigger_learner", None)  # models saved before the learned part have none
        if learner is None or not learner.trigger_ids or not flagged:
            return matched
        learned = {flagged[row]: ids for row, ids in learner.predict(features[flagged]).items()}
        active: dict[dt.date | None, list[str]] = {}
        for row, ids in learned.items():
            on_date = dates[row]
            if on_date not in active:
                active[on_date] = [t.id for t in taxonomy.triggers if t.is_active(on_date)]
            matched[row] = merge(active[on_date], matched[row], ids)
        return matched

    def _categories(self, normalized: list[str], tags: list[list[str]] | None = None) -> list[str]:
        """Categories of normalised texts; the categoriser's trigger columns read `tags` (each text's trigger ids,
        as predict tagged them), else the packaged taxonomy's."""
        if not normalized:
            return []
        if self.categorizer is None:
            return ["classic_tropes"] * len(normalized)
        union = self.categorizer.named_steps["features"]
        # No tags (training's version digest), or a categoriser pickled before SplitOnceUnion: it tags itself.
        if tags is None or not isinstance(union, SplitOnceUnion):
            return [str(c) for c in self.categorizer[1:].predict(normalized)]
        return [str(c) for c in self.categorizer.named_steps["clf"].predict(union.transform(normalized, tags=tags))]

    def _explain(self, normalized: list[str], features, top: int = EXPLAIN_TOP) -> list[list[str]]:
        """For each text, the word 1-2-grams that most raised its score: weight in its `features` row (the word
        block comes first) times the detector's coefficient, looked up for all texts at once."""
        if not normalized:
            return []
        hasher: WordNgramHasher = self.detector.named_steps["features"].transformer_list[0][1].named_steps["hash"]
        n = hasher.n_features
        gram_lists = [explainable_grams(text) for text in normalized]
        cols = np.fromiter((hash_column(g, n) for grams in gram_lists for g in grams), dtype=np.int64)
        rows = np.repeat(np.arange(len(gram_lists)), [len(grams) for grams in gram_lists])
        coef = self.detector.named_steps["clf"].coef_[:n]
        contrib = np.asarray(sp.csr_matrix(features)[:, :n][rows, cols]).ravel() * coef[cols]
        out, offset = [], 0
        for grams in gram_lists:
            these = contrib[offset: offset + len(grams)]
            offset += len(grams)
            order = np.argsort(-these, kind="stable")[:top]
            out.append([grams[j] for j in order if these[j] > 0])
        return out
