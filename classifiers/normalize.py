"""Text normalisation shared by training, serving and trigger tagging: Unicode, case, URLs, mentions, obfuscations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
# A masking character inside a word: j*ws, z!onist, j#w.
_MASKED = re.compile(r"(?<![\w*])[^\W\d_]+(?:[*#!?%]+[^\W\d_]*)+(?<=[^\W\d_*#!?%])|(?<![\w*])[^\W\d_]+[*#]+(?![\w*])")
_HAS_LEET = re.compile(r"[013457@$]")
_HAS_MASK = re.compile(r"[*#!?%]")
_REPEAT = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")

# Words people mask to dodge filters; a masked word is restored when exactly one of these fits it.
MASK_TARGETS: tuple[str, ...] = (
    "jew", "jews", "jewish", "jewry", "zionist", "zionists", "zionism", "zio", "kike", "kikes",
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


def fold_case(text: str) -> str:
    """NFKC, invisible characters removed, casefolded: the part of normalisation that term lists also need."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


def normalize_text(text: str) -> str:
    """Normalise one post: NFKC, casefold, URL/@mention placeholders, folded obfuscations, squeezed repeats."""
    text = fold_case(text)
    # Each pass is skipped when its marker characters are absent: most posts need only a few.
    if "http" in text or "www." in text:
        text = _URL.sub(URL_TOKEN, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_TOKEN, text)
        text = _MENTION.sub(USER_TOKEN, text)
    if "(" in text:
        text = _ECHO.sub(lambda m: f"{ECHO_TOKEN}{m.group(1)} ", text)
    text = _SPACED.sub(_join_spaced, text)
    if _HAS_LEET.search(text):
        text = _LEET_RUN.sub(lambda m: m.group(0).translate(_LEET_MAP), text)
    if _HAS_MASK.search(text):
        text = _MASKED.sub(_unmask, text)
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


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

    def transform(self, X: Iterable[str]) -> list[str]:  # noqa: N803
        return [normalize_text(x) for x in X]

