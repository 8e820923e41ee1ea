"""Text normalisation shared by training, serving and trigger tagging: Unicode, case, URLs, mentions, obfuscations.

The word caches here (and the hashers' and the taxonomy's) are per process and unsynchronised: one thread
predicts per process, as Celery's prefork workers run it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

URL_TOKEN = " URL "
USER_TOKEN = " @USER "
ECHO_TOKEN = " ECHOBRACKETS "
EMAIL_TOKEN = " EMAIL "

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_MENTION = re.compile(r"(?<![\w@])@\w+")
# (((they))) and spaced variants; three or more brackets each side, around a name or a few words (at most four,
# no sentence punctuation), not attached to a word: Russian and Armenian writers use "(((" and ")))" as sad and
# happy faces ("Жаль((( ... )))"), and those must not read as the antisemitic echo.
_ECHO = re.compile(r"(?<!\w)(?:\(\s*){3,}([^()\s.,!?;:]+(?:\s+[^()\s.,!?;:]+){0,3})(?:\s*\)){3,}(?!\w)")
# j.e.w.s / j-e-w-s / j e w s: three or more single letters joined by one repeated separator.
_SPACED = re.compile(r"(?<!\w)([^\W\d_])(?:([.\-·_* ])[^\W\d_])(?:\2[^\W\d_]){1,}(?!\w)")
# Digits and symbols standing for letters, only between letters (j3ws, z1onist, j00s), never in numbers.
_LEET_RUN = re.compile(r"(?<=[^\W\d_])[013457@$]+(?=[^\W\d_])")
_LEET_MAP = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# A masking character inside a word: j*ws, z!onist, j#w. Letters, a mask, then masks or letters up to the last
# letter; written without nested repeats, which took minutes to give up on a word followed by 30 "!".
_MASKED = re.compile(r"(?<![\w*])[^\W\d_]+[*#!?%](?:[*#!?%]|[^\W\d_])*(?<=[^\W\d_*#!?%])"
                     r"|(?<![\w*])[^\W\d_]+[*#]+(?![\w*])")
_LETTER_THEN_MASK = re.compile(r"[^\W\d_][*#!?%]")
# Characters some pattern needs: _SPACED's separators (a space never is inside a word), leet and mask characters.
_SEPARATORS, _LEET_CHARS, _MASK_CHARS = frozenset(".-·_*"), frozenset("013457@$"), frozenset("*#!?%")
_REPEAT = re.compile(r"(.)\1{2,}")

# Words people mask to dodge filters; a masked word is restored when exactly one of these fits it.
MASK_TARGETS: tuple[str, ...] = (
    "jew", "jews", "jewish", "jewry", "jude", "juden", "zionist", "zionists", "zionism", "zio", "kike", "kikes",
    "holocaust", "hitler", "nazi", "nazis", "israel", "rothschild", "rothschilds", "soros", "goyim",
    "еврей", "евреи", "евреев", "жид", "жиды", "жидов", "сионист", "сионисты", "холокост",
    "հրեա", "հրեաներ", "սիոնիստ",
)


def _is_word(ch: str) -> bool:
    """Whether the regex class \\w holds `ch` (for str patterns: alphanumeric or the underscore)."""
    return ch.isalnum() or ch == "_"


def _may_repeat(word: str) -> bool:
    """False when _REPEAT cannot match: a character three times in a row needs two beyond the distinct ones."""
    return len(set(word)) <= len(word) - 2


def _unmask(match: re.Match[str]) -> str:
    word = match.group(0)
    pattern = re.compile("".join("." if ch in "*#!?%" else re.escape(ch) for ch in word))
    hits = [t for t in MASK_TARGETS if len(t) == len(word) and pattern.fullmatch(t)]
    return hits[0] if len(hits) == 1 else word


def _join_spaced(match: re.Match[str]) -> str:
    return match.group(0).replace(match.group(2), "")


class _FoldedWords(dict):
    """word -> the word with leetspeak, masks and repeats folded, computed on first use; a per-process cache.

    These passes never look across whitespace, so they can run once per distinct word (the repeat squeeze
    and the final space squeeze commute). Words where _SPACED could start or continue a match get a code in
    `spaced_hints`, so that _SPACED runs only on texts where it might match: inside a word ("j.e.w.s"), or
    across three neighbours ending in, being, and starting with a lone letter ("j e w s").
    """

    def __init__(self):
        super().__init__()
        self.spaced_hints: dict[str, str] = {}

    def __missing__(self, word: str) -> str:
        # Each pattern is tried only where a character test says it could match: on this path every new word
        # of a batch (a name, a tag) pays for each search.
        if len(word) > 1 and word.isalpha():  # letters only: no code, and only a repeat to squeeze
            folded = _REPEAT.sub(r"\1\1", word) if _may_repeat(word) and _REPEAT.search(word) else word
            self[word] = folded
            return folded
        code = _INSIDE if not _SEPARATORS.isdisjoint(word) and _SPACED.search(word) else 0
        if len(word) == 1:
            code |= _LONE | _ENDS | _STARTS if _LONE_LETTER.match(word) else 0
        else:  # a lone letter ends (starts) the word only after (before) a character that is not \w
            code |= _ENDS if not _is_word(word[-2]) and _ENDS_LONE.search(word) else 0
            code |= _STARTS if not _is_word(word[1]) and _STARTS_LONE.match(word) else 0
        if code:
            self.spaced_hints[word] = chr(65 + code)
        folded = word
        if not _LEET_CHARS.isdisjoint(folded) and _LEET_RUN.search(folded):
            folded = _LEET_RUN.sub(lambda m: m.group(0).translate(_LEET_MAP), folded)
        if not _MASK_CHARS.isdisjoint(folded) and _LETTER_THEN_MASK.search(folded):  # how every _MASKED match starts
            folded = _MASKED.sub(_unmask, folded)
        if _may_repeat(folded) and _REPEAT.search(folded):
            folded = _REPEAT.sub(r"\1\1", folded)
        self[word] = folded
        return folded

    def bound(self) -> None:
        """Empty the cache when it holds CACHE_WORDS words."""
        if len(self) >= CACHE_WORDS:
            self.clear()
            self.spaced_hints.clear()

    def fold(self, words: list[str]) -> list[str]:
        self.bound()
        return list(map(self.__getitem__, words))

    def may_be_spaced(self, words: list[str]) -> bool:
        hints = self.spaced_hints
        return not hints.keys().isdisjoint(words) and bool(_MAY_BE_SPACED.search("".join([hints.get(w, "A") for w in words])))


CACHE_WORDS = 200_000
_INSIDE, _LONE, _ENDS, _STARTS = 8, 1, 2, 4
_LONE_LETTER = re.compile(r"[^\W\d_]")
_ENDS_LONE = re.compile(r"(?<!\w)[^\W\d_]\Z")
_STARTS_LONE = re.compile(r"[^\W\d_](?!\w)")


def _code_class(bit: int) -> str:
    return "[" + "".join(chr(65 + m) for m in range(16) if m & bit) + "]"


_MAY_BE_SPACED = re.compile(f"{_code_class(_INSIDE)}|{_code_class(_ENDS)}{_code_class(_LONE)}{_code_class(_STARTS)}")
_FOLDED = _FoldedWords()


def fold_case(text: str) -> str:
    """NFKC, invisible characters removed, casefolded: the part of normalisation that term lists also need."""
    if not text:
        return ""
    if text.isascii():  # NFKC leaves ASCII alone and every invisible character is outside it
        return text.casefold()
    text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():  # the invisible characters are all format characters, never printable
        text = _INVISIBLE.sub("", text)
    return text.casefold()


def _mask(text: str) -> str:
    """URLs, e-mail addresses and @mentions replaced by placeholders (each pass skipped without its marker)."""
    if "http" in text or "www." in text:
        text = _URL.sub(URL_TOKEN, text)
    if "@" in text:
        if "." in text:  # every e-mail address holds one
            text = _EMAIL.sub(EMAIL_TOKEN, text)
        text = _MENTION.sub(USER_TOKEN, text)
    return text


_MARKERS = ("@", "http", "www.")


def _masked_words(words: list[str], text: str) -> list[str]:
    """`_mask(" ".join(words)).split()` for the words of `text`, masking only the words that hold a marker: none
    of the three patterns matches whitespace or looks past one, so each word can be masked alone (scanning the
    whole text costs more). `words` is changed in place."""
    marked = {i for marker in _MARKERS if marker in text for i, word in enumerate(words) if marker in word}
    for i in sorted(marked, reverse=True):
        words[i:i + 1] = _mask(words[i]).split()
    return words


def _normalized_whole(text: str) -> list[str]:
    """The passes over the whole text, for the rare texts whose patterns may span words: echo brackets
    `((( x )))` and spaced letters `j e w s`."""
    text = _mask(text)
    if "(" in text:
        text = _ECHO.sub(lambda m: f"{ECHO_TOKEN}{m.group(1)} ", text)
    words = text.split()
    folded = _FOLDED.fold(words)
    if _FOLDED.may_be_spaced(words):
        folded = _FOLDED.fold(_SPACED.sub(_join_spaced, text).split())
    return folded


def normalized_words(text: str) -> list[str]:
    """The words of `normalize_text(text)`, which joins them with single spaces."""
    text = fold_case(text)
    if "(" in text:
        return _normalized_whole(text)
    words = text.split()
    if "@" in text or "http" in text or "www." in text:
        words = _masked_words(words, text)
    folded = _FOLDED.fold(words)
    if _FOLDED.may_be_spaced(words):
        return _normalized_whole(text)
    return folded


def normalize_text(text: str) -> str:
    """Normalise one post: NFKC, casefold, URL/@mention placeholders, folded obfuscations, squeezed repeats."""
    return " ".join(normalized_words(text))


class SplitTexts(list):
    """Texts (a list of str) that also carry their whitespace split, made once for every step reading them.

    `words` are the distinct words in order of first occurrence, `ids` the index into `words` of every word
    occurrence (texts one after another) and `doc` the text index of every occurrence.
    """

    def __init__(self, texts: list[str], words_of_texts: Iterable[list[str]] | None = None):
        super().__init__(texts)
        if words_of_texts is None:
            words_of_texts = (text.split() for text in texts)
        flat: list[str] = []
        sizes = []
        for words in words_of_texts:
            sizes.append(len(words))
            flat += words
        index = {w: i for i, w in enumerate(dict.fromkeys(flat))}
        self.words = list(index)
        self.ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
        self.doc = np.repeat(np.arange(len(sizes)), sizes)

    @classmethod
    def of_arrays(cls, texts: list[str], words: list[str], ids: np.ndarray, doc: np.ndarray) -> SplitTexts:
        """A SplitTexts from its parts, already computed."""
        out = cls.__new__(cls)
        list.__init__(out, texts)
        out.words, out.ids, out.doc = words, ids, doc
        return out


def split_texts(texts: Iterable[str]) -> SplitTexts:
    """`texts` with their whitespace split (as str.split does); SplitTexts are returned as they are."""
    return texts if isinstance(texts, SplitTexts) else SplitTexts(list(texts))


def ragged_rows(parts: Sequence[Sequence[int]], dtype=np.int64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flat values, start, length) of a list of integer sequences."""
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    flat = np.fromiter(chain.from_iterable(parts), dtype=dtype, count=int(lengths.sum()))
    starts = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return flat, starts, lengths


def expand_rows(flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ids: np.ndarray,
            doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, text index of each): the ragged rows `ids` of `flat`, one after another."""
    counts = lengths[ids]
    total = int(counts.sum())
    index_type = np.int32 if total < 2**31 and len(flat) < 2**31 else np.int64  # half the memory traffic
    first = np.zeros(len(ids), dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    positions = np.arange(total, dtype=index_type)
    positions += np.repeat((starts[ids] - first).astype(index_type), counts)
    return flat[positions], np.repeat(doc.astype(index_type, copy=False), counts)


_SEPARATOR = "\x00"  # a word of its own between a batch's texts; a batch whose texts hold it goes text by text
_PAREN = 16  # a code bit beside _FoldedWords' four: the raw word holds "(" once case-folded
# A whole raw word that is an ASCII @mention: case folding leaves it one word and _MENTION masks all of it. (It
# starts with the "@" so that the regex engine looks only where one is.)
_PLAIN_MENTION = re.compile(r"@(?<!\S@)[A-Za-z0-9_]+(?!\S)")


class _RawWords(dict):
    """Raw whitespace-separated word -> its row in tables of what it normalises to; a per-process cache.

    Every pass of `normalized_words` but two works within a raw word: NFKC, casefolding and the removal of
    invisible characters never join or split words (NFKC maps whitespace to whitespace and composes nothing
    with it), and the masks and folds run word by word already. So each distinct raw word is normalised once:
    its `units` are the words it masks to, each with its folded word (an id into `folded`) and its code (the
    spaced-letters code of _FoldedWords, plus _PAREN). The two other passes, echo brackets and spaced letters,
    may span words; texts where a code says they might match are normalised whole, by `normalized_words`.
    """

    def __init__(self):
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.clear()
        self.folded_ids: dict[str, int] = {}
        # Entries made since the last sync, then written into `_buffers` (numpy arrays are never traversed by the
        # garbage collector, and hold an int in 8 bytes).
        self._first: list[int] = []  # per raw word: its first unit and how many it has
        self._size: list[int] = []
        self._unit_folded: list[int] = []  # per unit: its folded word's id and its code
        self._unit_code: list[int] = []
        self._folded: list[str] = []  # the folded words by id
        # The synced entries: arrays with room to spare, doubled when full, so that a sync copies only the new
        # entries (a batch with one new word would otherwise copy arrays as long as the whole cache).
        self._buffers = tuple(np.zeros(1024, dtype=t) for t in (np.int64,) * 4 + (object,))
        self._synced = [0, 0, 0, 0, 0]
        self[_SEPARATOR] = self._add([(_SEPARATOR, 0)])  # raw word 0, folded word 0

    def _add(self, units: list[tuple[str, int]]) -> int:
        self._first.append(self._synced[2] + len(self._unit_folded))  # the units made so far
        self._size.append(len(units))
        for folded, code in units:
            self._unit_folded.append(self.folded_id(folded))
            self._unit_code.append(code)
        return self._synced[0] + len(self._first) - 1

    def folded_id(self, word: str) -> int:
        fid = self.folded_ids.get(word)
        if fid is None:
            fid = self.folded_ids[word] = len(self.folded_ids)
            self._folded.append(word)
        return fid

    @property
    def n_folded(self) -> int:
        return len(self.folded_ids)

    def __missing__(self, raw: str) -> int:
        text = fold_case(raw)
        if text == raw:  # share one string between this and the other caches (str.split keeps a lone word)
            text = raw
        paren = _PAREN if "(" in text else 0
        units = []
        for word in text.split():
            for masked in _mask(word).split():
                folded = _FOLDED[masked]
                units.append((folded, ord(_FOLDED.spaced_hints.get(masked, "A")) - 65 | paren))
        self[raw] = rid = self._add(units)
        return rid

    def sync(self) -> tuple[np.ndarray, ...]:
        """(first unit, unit count) of each raw word, (folded id, code) of each unit, and the folded words by id,
        as arrays (views) holding every entry made so far."""
        pending = (self._first, self._size, self._unit_folded, self._unit_code, self._folded)
        buffers = list(self._buffers)
        for i, new in enumerate(pending):
            if not new:
                continue
            start, stop = self._synced[i], self._synced[i] + len(new)
            if stop > len(buffers[i]):
                grown = np.zeros(max(2 * len(buffers[i]), stop), dtype=buffers[i].dtype)
                grown[:start] = buffers[i][:start]
                buffers[i] = grown
            buffers[i][start:stop] = new
            self._synced[i] = stop
            new.clear()
        self._buffers = tuple(buffers)
        return tuple(b[:n] for b, n in zip(buffers, self._synced, strict=True))


_RAW = _RawWords()


def _normalize_each(texts: list[str]) -> SplitTexts:
    words = [normalized_words(t) for t in texts]
    return SplitTexts([" ".join(w) for w in words], words)


def normalize_batch(texts: Iterable[str | None]) -> SplitTexts:
    """`normalize_text` of each text, with the whitespace split of the results.

    The batch is split once, each distinct raw word normalised once per process (see _RawWords) and the words
    mapped to texts in numpy; texts that echo brackets or spaced letters may change are normalised whole.
    """
    texts = [t or "" for t in texts]
    joined = f" {_SEPARATOR} ".join(texts)
    if not texts or joined.count(_SEPARATOR) != len(texts) - 1:
        return _normalize_each(texts)
    return _normalize_joined(texts, joined, _RAW)


def _normalize_joined(texts: list[str], joined: str, raw: _RawWords) -> SplitTexts:
    """normalize_batch of texts that do not hold the separator, given joined by it."""
    if len(raw) >= CACHE_WORDS or raw.n_folded >= CACHE_WORDS:
        raw.reset()
    _FOLDED.bound()
    if "@" in joined:  # each plain handle would be a new raw word, all of them normalised to this one
        joined = _PLAIN_MENTION.sub(USER_TOKEN.strip(), joined)
    raw_words = joined.split()
    rids = np.fromiter(map(raw.__getitem__, raw_words), dtype=np.int64, count=len(raw_words))
    first, size, unit_folded, unit_code, folded = raw.sync()
    sizes = size[rids]
    if sizes.min(initial=1) == 1 and sizes.max(initial=1) == 1:  # the usual case: one unit per raw word
        units = first[rids]
    else:
        ends = np.cumsum(sizes)
        units = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(first[rids] - (ends - sizes), sizes)
    fids, codes = unit_folded[units], unit_code[units]
    separator = fids == 0
    doc = np.cumsum(separator)  # a separator counts in the text after it; it is dropped below
    whole = doc[(codes & (_INSIDE | _PAREN)) != 0]
    if len(codes) > 2:
        runs = ((codes[:-2] & _ENDS) != 0) & ((codes[1:-1] & _LONE) != 0) & ((codes[2:] & _STARTS) != 0)
        whole = np.concatenate([whole, doc[:-2][runs]])  # _MAY_BE_SPACED's second half
    # The texts: all folded words joined once, cut at the separators (each text between " \x00 " and " \x00 ").
    cut = f"{_SEPARATOR} {' '.join(folded[fids].tolist())} {_SEPARATOR}".split(_SEPARATOR)
    normalized = [part[1:-1] for part in cut[1:-1]]
    keep = ~separator
    fids, doc = fids[keep], doc[keep]
    if len(whole):
        fids, doc = _renormalize(texts, np.unique(whole).tolist(), normalized, fids, doc, raw)
        folded = raw.sync()[4]
    # Distinct words in order of first occurrence, as SplitTexts(normalized) gives them.
    # Only the batch's own words: arrays as long as the whole cache would cost every small batch.
    present, first, inverse = np.unique(fids, return_index=True, return_inverse=True)
    by_first = np.argsort(first)
    rank = np.empty(len(present), dtype=np.int64)
    rank[by_first] = np.arange(len(present), dtype=np.int64)
    return SplitTexts.of_arrays(normalized, folded[present[by_first]].tolist(), rank[inverse].reshape(-1), doc)


def _renormalize(texts: list[str], docs: list[int], normalized: list[str], fids: np.ndarray, doc: np.ndarray,
                 raw: _RawWords) -> tuple[np.ndarray, np.ndarray]:
    """Normalise texts `docs` whole, putting their texts into `normalized` and their words in place of what
    the word-by-word pass gave them in (`fids`, `doc`)."""
    new_fids, new_doc = [], []
    for d in docs:
        words = normalized_words(texts[d])
        normalized[d] = " ".join(words)
        new_fids += map(raw.folded_id, words)
        new_doc += [d] * len(words)
    stay = ~np.isin(doc, docs)
    fids, doc = fids[stay], doc[stay]
    new_doc_arr = np.array(new_doc, dtype=doc.dtype)
    at = np.searchsorted(doc, new_doc_arr) + np.arange(len(new_doc_arr))  # the other texts' words keep order
    placed = np.zeros(len(fids) + len(at), dtype=bool)
    placed[at] = True
    out_fids = np.empty(len(placed), dtype=np.int64)
    out_doc = np.empty(len(placed), dtype=doc.dtype)
    out_fids[placed], out_doc[placed] = new_fids, new_doc_arr
    out_fids[~placed], out_doc[~placed] = fids, doc
    return out_fids, out_doc


class RawTextTransformer(TransformerMixin, BaseEstimator):
    """Base of the pipeline's stateless steps over raw strings: sklearn tags saying so."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class TextNormalizer(RawTextTransformer):
    """Stateless pipeline step applying `normalize_text` to each raw text."""

    def fit(self, X: Iterable[str], y=None):  # noqa: N803 - scikit-learn naming
        return self

    def transform(self, X: Iterable[str]) -> SplitTexts:  # noqa: N803
        return normalize_batch(X)

