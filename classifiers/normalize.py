"""Text normalisation shared by training, serving and trigger tagging: Unicode, case, URLs, mentions, obfuscations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
# (((they))) and spaced variants; three or more brackets each side.
_ECHO = re.compile(r"(?:\(\s*){3,}([^()]{1,60}?)(?:\s*\)){3,}")
# j.e.w.s / j-e-w-s / j e w s: three or more single letters joined by one repeated separator.
_SPACED = re.compile(r"(?<!\w)([^\W\d_])(?:([.\-·_* ])[^\W\d_])(?:\2[^\W\d_]){1,}(?!\w)")
# Digits and symbols standing for letters, only between letters (j3ws, z1onist, j00s), never in numbers.
_LEET_RUN = re.compile(r"(?<=[^\W\d_])[013457@$]+(?=[^\W\d_])")
_LEET_MAP = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# A masking character inside a word: j*ws, z!onist, j#w. Letters, a mask, then masks or letters up to the last
# letter; written without nested repeats, which took minutes to give up on a word followed by 30 "!".
_MASKED = re.compile(r"(?<![\w*])[^\W\d_]+[*#!?%](?:[*#!?%]|[^\W\d_])*(?<=[^\W\d_*#!?%])"
                     r"|(?<![\w*])[^\W\d_]+[*#]+(?![\w*])")
_HAS_LEET = re.compile(r"[013457@$]")
_HAS_MASK = re.compile(r"[*#!?%]")
_REPEAT = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")

# Words people mask to dodge filters; a masked word is restored when exactly one of these fits it.
MASK_TARGETS: tuple[str, ...] = (
    "jew", "jews", "jewish", "jewry", "jude", "juden", "zionist", "zionists", "zionism", "zio", "kike", "kikes",
    "holocaust", "hitler", "nazi", "nazis", "israel", "rothschild", "rothschilds", "soros", "goyim",
    "еврей", "евреи", "евреев", "жид", "жиды", "жидов", "сионист", "сионисты", "холокост",
    "հրեա", "հրեաներ", "սիոնիստ",
)


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
        code = _INSIDE if _SPACED.search(word) else 0
        if len(word) == 1 and _LONE_LETTER.match(word):
            code |= _LONE | _ENDS | _STARTS
        else:
            code |= (_ENDS if _ENDS_LONE.search(word) else 0) | (_STARTS if _STARTS_LONE.match(word) else 0)
        if code:
            self.spaced_hints[word] = chr(65 + code)
        folded = word
        if _HAS_LEET.search(folded):
            folded = _LEET_RUN.sub(lambda m: m.group(0).translate(_LEET_MAP), folded)
        if _HAS_MASK.search(folded):
            folded = _MASKED.sub(_unmask, folded)
        self[word] = folded = _REPEAT.sub(r"\1\1", folded)
        return folded

    def fold(self, words: list[str]) -> list[str]:
        if len(self) >= CACHE_WORDS:
            self.clear()
            self.spaced_hints.clear()
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

    `words` are the distinct words, `ids` the index into `words` of every word occurrence (texts one after
    another) and `doc` the text index of every occurrence.
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


def split_texts(texts: Iterable[str]) -> SplitTexts:
    """`texts` with their whitespace split (as str.split does); SplitTexts are returned as they are."""
    return texts if isinstance(texts, SplitTexts) else SplitTexts(list(texts))


def normalize_batch(texts: Iterable[str | None]) -> SplitTexts:
    """`normalize_text` of each text, with the whitespace split of the results."""
    words = [normalized_words(t or "") for t in texts]
    return SplitTexts([" ".join(w) for w in words], words)


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

