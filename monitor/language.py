"""Language of a post: the platform's own field when it is a valid code, else detection with lingua.

Why lingua (lingua-language-detector 2.1) in high-accuracy mode on our 15 languages: figures from
bench/language_detection.py on 40 English, 40 Russian and 40 Armenian posts of 10-140 characters,
written for it (Russian with "Gyumri" or "Ереван", English with Armenian names, very short ones):

    detector                     en    ru    hy  wrong  None  ms/post  +RSS
    lingua, these 15 (shipped)   98%   98%  100%    0     2    0.08    307 MiB
    lingua, 15, low accuracy     95%   98%  100%    3     0    0.02     25 MiB
    lingua, all 75 languages     92%   95%  100%    5     0    0.53   1060 MiB
    langdetect 1.0.9, seeded     92%   90%    0%   45     2    1.7      63 MiB

langdetect has no Armenian profile (its 55 profiles lack hy, ka and az): Armenian came out as
Estonian. lingua tells Armenian, Georgian and Hebrew by their alphabets. Low-accuracy mode is 12x
lighter but labelled English posts with Armenian names as Turkish, the very posts Vigil watches;
with a minimum relative distance of 0.1 the shipped detector answers None instead of guessing
(its 2 misses). The memory is paid once per process, lazily: ~250 MiB when the first Latin-script
post arrives, ~50 MiB for the first Cyrillic one, none for Armenian; no work happens at import.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import pycountry

if TYPE_CHECKING:
    from lingua import LanguageDetector

# The languages of the countries Vigil watches and their neighbours; detection picks only among these.
DETECTABLE = ("en", "ru", "hy", "az", "ka", "he", "de", "fr", "es", "ar", "tr", "uk", "pl", "pt", "it")

# Below this many letters a guess is noise ("ok", "+1", a lone emoji).
MIN_LETTERS = 4
# lingua's confidence gap between the best two languages; below it we answer None rather than guess.
MIN_RELATIVE_DISTANCE = 0.1

# Links, handles and hashtag signs are Latin-script boilerplate that would pull Russian or Armenian
# posts towards English; hashtag words stay, they are the author's words.
_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<!\w)@[\w.]+(?:@[\w.-]+)?|#")


@lru_cache(maxsize=512)
def normalise_code(code: str | None) -> str | None:
    """Return the ISO 639-1 code for a platform language tag ('en', 'en-US', 'eng', 'hye'), else None."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()
    if len(primary) == 2:
        language = pycountry.languages.get(alpha_2=primary)
    elif len(primary) == 3:
        language = pycountry.languages.get(alpha_3=primary)
        if language is None:
            # Bibliographic ISO 639-2 codes ('arm', 'ger') are still common in feeds.
            language = next((lang for lang in pycountry.languages
                             if getattr(lang, "bibliographic", None) == primary), None)
    else:
        return None
    return getattr(language, "alpha_2", None)


@cache
def _detector() -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTABLE]
    return (LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
            .build())


def detect_language(text: str) -> str | None:
    """Detect the ISO 639-1 code of `text`, or None when it is too short or undetermined."""
    cleaned = _NOISE.sub(" ", text or "")
    if sum(ch.isalpha() for ch in cleaned) < MIN_LETTERS:
        return None
    language = _detector().detect_language_of(cleaned)
    return language.iso_code_639_1.name.lower() if language is not None else None


def resolve_language(platform_lang: str | None, text: str) -> str | None:
    """Return the platform's language when it is a valid code, else the detected one."""
    return normalise_code(platform_lang) or detect_language(text)
