"""The trigger taxonomy: events and topics that set off antisemitic discourse, matched by editable term lists.

A trigger matches a text when every one of its term groups matches; a group matches when any of its
terms (in any language) occurs as a whole word or phrase. `word*` matches any word starting with
`word`, which covers Russian and Armenian inflection (`Израил*`, `Ադրբեջան*`). Editing
`triggers.yaml` changes the tagging of newly classified posts at once (load_taxonomy reads a changed file
again), without retraining any model; each classification records the taxonomy's `digest`, so `vigil
reclassify` re-tags the stored posts that an edit concerns.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import structlog
import yaml

from classifiers.normalize import (
    CACHE_WORDS,
    SplitTexts,
    expand_rows,
    fold_case,
    normalize_text,
    ragged_rows,
    split_texts,
)

log = structlog.get_logger(__name__)

LANGUAGES = ("en", "ru", "hy", "de")
MAX_ID_CHARS = 64  # the width of Rollup.trigger
ID_PATTERN = re.compile(f"[a-z0-9_]{{1,{MAX_ID_CHARS}}}")


_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class TermKeys:
    """A term group's words for the fast path: exact words, word starts, and first-word keys of phrases."""
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    phrase_keys: tuple[str, ...]  # a token starting with one of these makes the group's regex worth running
    phrase_words: frozenset[str] = frozenset()  # a token equal to one of these does too

    def hit(self, token: str) -> int:
        """2 when `token` alone matches the group, 1 when a phrase may match, 0 when it cannot help."""
        if token in self.exact or token.startswith(self.prefixes):
            return 2
        return 1 if token in self.phrase_words or token.startswith(self.phrase_keys) else 0


def term_keys(terms: list[str]) -> TermKeys:
    exact, prefixes, phrase_keys, phrase_words = set(), [], [], set()
    for term in terms:
        words = fold_case(str(term)).split()
        if len(words) == 1 and _TOKEN.fullmatch(words[0].rstrip("*")) and words[0].count("*") <= 1:
            word = words[0]
            (prefixes.append(word[:-1]) if word.endswith("*") and len(word) > 1 else exact.add(word))
        elif words:
            key = _TOKEN.match(words[0])
            if key is None:
                phrase_keys.append("")  # no leading word: always check
            elif words[0].endswith("*") and len(words[0]) > 1 and key.group(0) == words[0][:-1]:
                phrase_keys.append(key.group(0))  # `key*`: any token starting with the key
            else:
                # The regex (see compile_terms) needs the key followed by a character that is not \w (the rest
                # of the first word, or the space or hyphen before the next), so the token is the key itself.
                phrase_words.add(key.group(0))
    return TermKeys(frozenset(exact), tuple(prefixes), tuple(phrase_keys), frozenset(phrase_words))


@dataclass(frozen=True)
class Trigger:
    id: str
    label: str
    description: str
    groups: tuple[re.Pattern[str], ...]
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    keys: tuple[TermKeys, ...] = ()  # one per group, same order; built by parse_taxonomy

    def is_active(self, on_date: dt.date | None) -> bool:
        if on_date is None:
            return True
        if self.active_from and on_date < self.active_from:
            return False
        return not (self.active_to and on_date > self.active_to)

    def active_between(self, first: dt.date, last: dt.date) -> bool:
        """Whether the trigger's active dates overlap the days `first` to `last`, both included."""
        return (self.active_from is None or self.active_from <= last) and (self.active_to is None
                                                                            or self.active_to >= first)

    def matches(self, normalized: str) -> bool:
        return all(group.search(normalized) for group in self.groups)

    def names_part(self, normalized: str) -> bool:
        """Whether some term of the trigger is in the text: "baku" names part of israel_azerbaijan_ties, which
        tags a post only with an Israel-side term too."""
        return any(group.search(normalized) for group in self.groups)


@dataclass(frozen=True)
class Taxonomy:
    version: str
    triggers: tuple[Trigger, ...]
    # Hash of what tagging reads (ids, terms, dates; see taxonomy_digest): stored with each classification, so the
    # posts tagged by an earlier version of the file are found again (`vigil reclassify`).
    digest: str = ""
    # token -> {(trigger index, group index): 2 sure / 1 maybe}; a per-process speed-up, bounded
    _token_hits: dict = field(default_factory=dict, compare=False, repr=False)
    # whitespace-separated word -> its tokens' hits merged, as ((trigger index, group index), 2 / 1) pairs
    _word_hits: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.triggers]

    @functools.cached_property
    def _any_key(self) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
        """Every group's exact words, and its word starts and phrase keys by their first character: a token
        matching none has no hit that matters (a group with the "" phrase key is checked whatever its tokens)."""
        keys = [k for t in self.triggers for k in t.keys]
        starts: dict[str, tuple[str, ...]] = {}
        for p in sorted({p for k in keys for p in (*k.prefixes, *k.phrase_keys) if p}):
            starts[p[0]] = (*starts.get(p[0], ()), p)
        return frozenset().union(*(k.exact | k.phrase_words for k in keys)), starts

    def token_hits(self, token: str) -> dict[tuple[int, int], int]:
        hits = self._token_hits.get(token)
        if hits is None:
            exact, starts = self._any_key
            # Most tokens: one set and one C-level test against the few starts sharing their first character.
            if token not in exact and not token.startswith(starts.get(token[:1], ())):
                hits = {}
            else:
                hits = {(ti, gi): h for ti, t in enumerate(self.triggers) for gi, k in enumerate(t.keys)
                        if (h := k.hit(token))}
            if len(self._token_hits) >= CACHE_WORDS:
                self._token_hits.clear()
            self._token_hits[token] = hits
        return hits

    def word_hits(self, word: str) -> tuple[tuple[tuple[int, int], int], ...]:
        """The hits of a whitespace-separated word's tokens (a token never spans whitespace)."""
        hits = self._word_hits.get(word)
        if hits is None:
            merged: dict[tuple[int, int], int] = {}
            for token in _TOKEN.findall(word):
                for key, h in self.token_hits(token).items():
                    merged[key] = max(h, merged.get(key, 0))
            hits = tuple(merged.items())
            if len(self._word_hits) >= CACHE_WORDS:
                self._word_hits.clear()
            self._word_hits[word] = hits
        return hits


def compile_terms(terms: list[str]) -> re.Pattern[str]:
    """One Unicode word-boundary-aware regex for a list of terms; a trailing `*` on a word means any ending."""
    alternatives = []
    for term in terms:
        words = fold_case(str(term)).split()
        if not words:
            continue
        parts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") and len(w) > 1 else re.escape(w) for w in words]
        alternatives.append(r"[\s\-]+".join(parts))
    if not alternatives:
        raise ValueError("a term group needs at least one term")
    # Longest first so that alternation prefers the fuller phrase.
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def _terms_of(block: dict | list, where: str) -> list[str]:
    if isinstance(block, list):  # language-neutral list
        return [str(t) for t in block]
    if not isinstance(block, dict):
        raise ValueError(f"{where}: terms must be a mapping of language -> list")
    unknown = set(block) - set(LANGUAGES) - {"any"}
    if unknown:
        raise ValueError(f"{where}: unknown language keys {sorted(map(str, unknown))}")
    not_lists = sorted(str(lang) for lang, terms in block.items() if not isinstance(terms, list | None))
    if not_lists:
        raise ValueError(f"{where}: the terms of {', '.join(not_lists)} must be a list")
    return [str(t) for lang_terms in block.values() for t in (lang_terms or [])]


def _date(value, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{where}: bad date {value!r} (use YYYY-MM-DD)") from exc


def parse_taxonomy(data: dict) -> Taxonomy:
    """Build a Taxonomy from the parsed YAML mapping, raising ValueError with the trigger id on mistakes."""
    if not isinstance(data, dict) or not isinstance(data.get("triggers") or [], list):
        raise ValueError("the taxonomy must be a mapping with a `triggers` list")
    triggers, seen, tagging = [], set(), []
    for n, entry in enumerate(data.get("triggers") or []):
        if not isinstance(entry, dict):
            raise ValueError(f"triggers[{n}] must be a mapping with an `id`, not {type(entry).__name__}")
        tid = entry.get("id")
        if not tid:
            raise ValueError(f"triggers[{n}]: trigger id missing")
        if not isinstance(tid, str) or not ID_PATTERN.fullmatch(tid):  # before `in seen`: a list id is unhashable
            raise ValueError(f"trigger id {str(tid)[:80]!r}: use 1-{MAX_ID_CHARS} lower-case letters, digits and _ "
                             "(ids are stored with every post and rollup)")
        if tid in seen:
            raise ValueError(f"trigger id repeated: {tid!r}")
        seen.add(tid)
        term_lists = []
        if entry.get("terms"):
            term_lists.append(_terms_of(entry["terms"], tid))
        for i, group in enumerate(entry.get("requires_all") or []):
            block = group.get("terms", group) if isinstance(group, dict) else group  # {terms: ...}, {en: [...]}, [...]
            term_lists.append(_terms_of(block, f"{tid}.requires_all[{i}]"))
        groups = [compile_terms(terms) for terms in term_lists]
        if not groups:
            raise ValueError(f"{tid}: needs `terms` or `requires_all`")
        trigger = Trigger(
            id=tid, label=entry.get("label", tid), description=entry.get("description", ""),
            groups=tuple(groups),
            active_from=_date(entry.get("active_from"), tid), active_to=_date(entry.get("active_to"), tid),
            keys=tuple(term_keys(terms) for terms in term_lists),
        )
        triggers.append(trigger)
        tagging.append([tid, sorted(sorted({" ".join(fold_case(t).split()) for t in terms}) for terms in term_lists),
                        str(trigger.active_from), str(trigger.active_to)])
    return Taxonomy(version=str(data.get("version", "0")), triggers=tuple(triggers), digest=taxonomy_digest(tagging))


def taxonomy_digest(tagging: list) -> str:
    """16 hex digits of SHA-256 over what tagging reads: each trigger's id, its term groups (each a set of terms
    as matched: case-folded, spaces squeezed) and its active dates, in id order. A label, a description, a
    comment, the order of terms or triggers, or the layout of the file does not change it, so such an edit
    sends no stored post back to classification."""
    canonical = json.dumps(sorted(tagging), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


PACKAGED = Path(__file__).parent / "triggers.yaml"
# What reading a taxonomy file may raise: a file that cannot be read, YAML that does not parse, and
# parse_taxonomy's ValueError naming the mistake.
TAXONOMY_ERRORS = (OSError, ValueError, yaml.YAMLError)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The trigger taxonomy in `path`, or in the packaged `triggers.yaml` when None: compiled once per process
    for each version of the file (its modification time and size), so an edit reaches running workers at their
    next batch without a restart.

    A version that does not compile, or a file that cannot be read for a moment, keeps the last version that
    did compile (logged once per version): a typo must not stop classification. With none before, it raises.
    """
    path = Path(path) if path is not None else PACKAGED
    key = str(path.resolve())
    known = _read.get(key)
    try:
        stat = path.stat()
    except OSError as exc:
        return _keep_known(key, known, None, exc)
    version = (stat.st_mtime_ns, stat.st_size)
    if known is not None and known.version == version:
        return known.taxonomy
    try:
        taxonomy = parse_taxonomy(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except TAXONOMY_ERRORS as exc:
        return _keep_known(key, known, version, exc)
    _read[key] = _Read(version, taxonomy)
    return taxonomy


def _keep_known(key: str, known: _Read | None, version: tuple[int, int] | None, exc: Exception) -> Taxonomy:
    """The last taxonomy that compiled from this file, remembered for `version` so that it is not read again;
    `exc` raised when there is none."""
    if known is None:
        raise exc
    log.error("taxonomy_edit_refused", path=key, error=str(exc)[:300])
    _read[key] = _Read(version, known.taxonomy)
    return known.taxonomy


@dataclass(frozen=True)
class _Read:
    version: tuple[int, int] | None  # (mtime_ns, size) of the file as last read
    taxonomy: Taxonomy  # what that version compiled to, or the last good one when it did not compile


_read: dict[str, _Read] = {}  # per file


def tag_normalized(normalized: str, taxonomy: Taxonomy, on_date: dt.date | None = None) -> list[str]:
    """Trigger ids matching an already normalised text (as produced by `normalize_text`)."""
    return tag_batch([normalized], taxonomy, [on_date])[0]


def tag_batch(texts: Iterable[str], taxonomy: Taxonomy,
              dates: Sequence[dt.date | None] | None = None) -> list[list[str]]:
    """Trigger ids of each normalised text, in taxonomy order, without those inactive on the text's date (`dates`,
    when given; see only_active); the same as running every group's regex on every text (`Trigger.matches`), but
    each distinct word of the batch is looked up once per process, each text's best hit per group goes into one
    (texts, groups) array, and a group's regex runs only where a phrase may match."""
    if dates is not None:
        return only_active(taxonomy, tag_batch(texts, taxonomy), dates)
    texts = split_texts(texts)
    word_hits = list(map(taxonomy._word_hits.get, texts.words))  # None where not cached yet
    for i in [i for i, h in enumerate(word_hits) if h is None]:
        word_hits[i] = taxonomy.word_hits(texts.words[i])
    column = {key: i for i, key in enumerate((ti, gi) for ti, t in enumerate(taxonomy.triggers)
                                             for gi in range(len(t.groups)))}
    # Each word's hits as column * 4 + hit, so one ragged array carries both.
    packed = ragged_rows([[column[key] * 4 + h for key, h in hits] for hits in word_hits])
    values, doc = expand_rows(*packed, texts.ids, texts.doc)
    best = np.zeros((len(texts), len(column)), dtype=np.int8)  # 0 no hit, 1 maybe (a phrase), 2 sure
    np.maximum.at(best, (doc, values >> 2), (values & 3).astype(np.int8))
    matched: dict[int, list[int]] = {}  # text -> indexes of its matching triggers, ascending
    for ti, t in enumerate(taxonomy.triggers):
        for i in _found(t, [best[:, column[ti, gi]] for gi in range(len(t.groups))], texts):
            matched.setdefault(i, []).append(ti)
    out: list[list[str]] = [[] for _ in texts]
    ids = taxonomy.ids
    for i, tis in matched.items():
        out[i] = [ids[ti] for ti in tis]
    return out


def _found(t: Trigger, hit: list[np.ndarray], texts: SplitTexts) -> list[int]:
    """Indexes of the texts a trigger matches, from each group's best hit per text (`hit`, one array per group):
    every group sure, or else sure or matched by its regex. A group with a term that no word starts (the "" phrase
    key, e.g. "#tag") may match whatever the text's hits, so its regex is tried on every text not yet decided;
    so are all the groups of a Trigger built without keys (its words have no hits)."""
    anywhere = ["" in k.phrase_keys for k in t.keys] if t.keys else [True] * len(t.groups)
    sure = np.ones(len(texts), dtype=bool)
    maybe = np.ones(len(texts), dtype=bool)
    for h, always in zip(hit, anywhere, strict=True):
        sure &= h == 2
        if not always:
            maybe &= h > 0
    maybe &= ~sure
    found = np.flatnonzero(sure).tolist()
    for i in np.flatnonzero(maybe).tolist():
        if all(h[i] == 2 or group.search(texts[i]) for h, group in zip(hit, t.groups, strict=True)):
            found.append(i)
    return found


def only_active(taxonomy: Taxonomy, tagged: Sequence[Sequence[str]],
                dates: Sequence[dt.date | None] | None) -> list[list[str]]:
    """Each text's trigger ids without those inactive on its date, so one undated tagging serves both the dated
    triggers and the undated uses (tag_batch with `dates` is this)."""
    dated = {t.id: t for t in taxonomy.triggers if t.active_from or t.active_to}
    if not dated or dates is None:
        return [list(tags) for tags in tagged]
    return [[tid for tid in tags if tid not in dated or dated[tid].is_active(on_date)]
            for tags, on_date in zip(tagged, dates, strict=True)]


def tag_triggers(text: str, taxonomy: Taxonomy | None = None, on_date: dt.date | None = None) -> list[str]:
    """Trigger ids matching a raw text, in taxonomy order; triggers outside their active dates are skipped."""
    return tag_normalized(normalize_text(text), taxonomy or load_taxonomy(), on_date)
