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
from itertools import repeat

from classifiers.model import base_language
from classifiers.normalize import ECHO_TOKEN, EMAIL_TOKEN, URL_TOKEN, USER_TOKEN, normalize_text

_WORD = re.compile(r"\w\w+")
# The masks normalisation writes in place of links, handles, e-mail addresses and echo brackets, as _WORD finds
# them (upper case: normalised text is case-folded, so no word of a post has these forms).
_PLACEHOLDERS = frozenset(_WORD.findall(" ".join((URL_TOKEN, USER_TOKEN, ECHO_TOKEN, EMAIL_TOKEN))))
_ECHO = ECHO_TOKEN.strip()

# Function words (pronouns, articles, auxiliaries, prepositions, conjunctions, particles, question words) of the
# covered languages, written for Vigil: a rise of "they" or "why" among antisemitic posts says nothing an analyst
# can act on, so no term starts or ends with one. Content words stay, however common ("fire", "money"). Each post
# is read with its own language's list: German "die", "war", "man", "hat" are English words that matter.
FUNCTION_WORDS_BY_LANGUAGE: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in {
    "en": """a an the and or nor but if so as of to in on at by for from with without into onto upon via about
above after before below between through during over under up down out off against among around within i me my
mine we us our ours you your yours he him his she her hers it its they them their theirs this that these those who
whom whose which what when where why how there here all any both each every some such no not only same than too
very just also even still yet ever never again then once now because while until do does did done doing have has
had having am is are was were be been being will would shall should can could may might must let get got gets one
ones other others another more most less much many few lot lots like unlike yes ok okay oh really well""",
    "ru": """и в во не за на что это по с со а как к у о из же но ли то я ты он она оно мы вы они меня тебя его её
ее нас вас их мне тебе ему ей нам вам им мой моя моё мои твой твоя наш наша наши ваш ваша ваши свой своя свои этот
эта эти тот та те кто какой какая какие который которая которые где когда почему зачем так тоже также ещё еще
уже вот вон там тут здесь все всё весь вся всех всем был была были было быть будет будут есть нет да если чтобы
потому поэтому или либо ни даже только лишь очень бы ведь до после перед между через под над без для при про об
обо от около вокруг среди себя себе сам сама сами нашим нашего нашей наших нашу вашим вашего вашей ваших вашу
своим своего своей своих свою этого этой этих этим этому того той тех тем теми которых которым котором которого
которой кого чего кому чему ним ней них нём никто ничто ничего никого никому нигде никогда""",
    "hy": """և եւ է են էր որ ու մեր այդ այն իր ես դու նա մենք դուք նրանք ինձ քեզ նրան մեզ ձեզ նրանց իմ քո նրա ձեր
այս սա դա որը ով ինչ ինչու որտեղ երբ ինչպես բոլոր ամեն ոչ չէ այո թե եթե բայց կամ նաև էլ դեռ արդեն միայն շատ քիչ
հետ համար մասին վրա տակ մեջ առաջ հետո միջև պես կա կան չկա եղել լինել պիտի պետք""",
    "de": """der die das den dem des ein eine einen einem einer und oder ist sind war waren im in am an auf zu mit
von für es er sie wir ich du ihr mich dich ihn uns euch ihnen mir dir ihm mein meine dein deine sein seine unser
unsere euer eure dies diese dieser dieses jener wer was wann wo warum wie dort hier alle alles jeder jede kein
keine nicht nur auch noch schon sehr so dann wenn weil ob aber doch denn als bei nach vor aus über unter durch
gegen ohne um bis seit zwischen hat haben hatte hatten wird werden wurde wurden kann können soll sollen muss
müssen darf will wollen man sich ja nein""",
}.items()}
# For a post of another or no language: every list, but not the words that are content words in another language.
FUNCTION_WORDS = frozenset().union(*FUNCTION_WORDS_BY_LANGUAGE.values()) - {"die", "war", "man", "hat"}


@dataclass(frozen=True)
class EmergingTerm:
    term: str
    z: float  # > 0: more frequent in the target window than the prior and baseline explain
    delta: float  # the log-odds ratio itself
    target_count: int
    baseline_count: int


# Articles an echo may start with: "(((the media)))" echoes "media".
_ARTICLES = frozenset("the a an der die das den dem des ein eine einen einem einer".split())


def _terms(normalized: str) -> list[str]:
    """The words of a normalised text without the masks and numbers; the first word in echo brackets, past an
    article, is kept as "(((word)))", the coded form: "(((they)))" (though "they" is a function word),
    "(((the media)))" gives "the", "(((media)))". Normalisation keeps where an echo starts, not where it ends."""
    words: list[str] = []
    echoed = False
    for w in _WORD.findall(normalized):
        if w == _ECHO:
            echoed = True
        elif w not in _PLACEHOLDERS and not w.isdigit():
            words.append(f"((({w})))" if echoed and w not in _ARTICLES else w)
            echoed = echoed and w in _ARTICLES
    return words


def term_counts(texts: Iterable[str], max_n: int = 2, languages: Iterable[str | None] | None = None) -> Counter[str]:
    """How many texts hold each word 1..max_n-gram (once per text, so one post repeating a word does not make it
    a trend, and the counts are posts); n-grams starting or ending with a function word of the text's language
    (`languages`, aligned with `texts`; FUNCTION_WORDS when unknown) are skipped."""
    counts: Counter[str] = Counter()
    for text, lang in zip(texts, languages if languages is not None else repeat(None)):
        skip = FUNCTION_WORDS_BY_LANGUAGE.get(base_language(lang), FUNCTION_WORDS)
        words = _terms(normalize_text(text))
        grams = {" ".join(words[i:i + n]) for n in range(1, max_n + 1) for i in range(len(words) - n + 1)
                 if words[i] not in skip and words[i + n - 1] not in skip}
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
