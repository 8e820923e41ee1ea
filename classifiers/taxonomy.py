"""The trigger taxonomy: events and topics that set off antisemitic discourse, matched by editable term lists.

A trigger matches a text when every one of its term groups matches; a group matches when any of its
terms (in any language) occurs as a whole word or phrase. `word*` matches any word starting with
`word`, which covers Russian and Armenian inflection (`Израил*`, `Ադրբեջան*`). Editing
`triggers.yaml` changes tagging at once, without retraining any model.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifiers.normalize import fold_case, normalize_text

LANGUAGES = ("en", "ru", "hy")


@dataclass(frozen=True)
class Trigger:
    id: str
    label: str
    description: str
    groups: tuple[re.Pattern[str], ...]
    active_from: dt.date | None = None
    active_to: dt.date | None = None

    def is_active(self, on_date: dt.date | None) -> bool:
        if on_date is None:
            return True
        if self.active_from and on_date < self.active_from:
            return False
        return not (self.active_to and on_date > self.active_to)

    def matches(self, normalized: str) -> bool:
        return all(group.search(normalized) for group in self.groups)


@dataclass(frozen=True)
class Taxonomy:
    version: str
    triggers: tuple[Trigger, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.triggers]


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
        raise ValueError(f"{where}: unknown language keys {sorted(unknown)}")
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
    triggers, seen = [], set()
    for entry in data.get("triggers") or []:
        tid = entry.get("id")
        if not tid or tid in seen:
            raise ValueError(f"trigger id missing or repeated: {tid!r}")
        seen.add(tid)
        groups = []
        if entry.get("terms"):
            groups.append(compile_terms(_terms_of(entry["terms"], tid)))
        for i, group in enumerate(entry.get("requires_all") or []):
            groups.append(compile_terms(_terms_of(group.get("terms", group), f"{tid}.requires_all[{i}]")))
        if not groups:
            raise ValueError(f"{tid}: needs `terms` or `requires_all`")
        triggers.append(Trigger(
            id=tid, label=entry.get("label", tid), description=entry.get("description", ""),
            groups=tuple(groups),
            active_from=_date(entry.get("active_from"), tid), active_to=_date(entry.get("active_to"), tid),
        ))
    return Taxonomy(version=str(data.get("version", "0")), triggers=tuple(triggers))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and compile the trigger taxonomy from `path`, or the packaged `triggers.yaml` when None."""
    if path is None:
        return _packaged_taxonomy()
    return parse_taxonomy(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


@functools.lru_cache(maxsize=1)
def _packaged_taxonomy() -> Taxonomy:
    text = (Path(__file__).parent / "triggers.yaml").read_text(encoding="utf-8")
    return parse_taxonomy(yaml.safe_load(text) or {})


def tag_normalized(normalized: str, taxonomy: Taxonomy, on_date: dt.date | None = None) -> list[str]:
    """Trigger ids matching an already normalised text (as produced by `normalize_text`)."""
    return [t.id for t in taxonomy.triggers if t.is_active(on_date) and t.matches(normalized)]


def tag_triggers(text: str, taxonomy: Taxonomy | None = None, on_date: dt.date | None = None) -> list[str]:
    """Trigger ids matching a raw text, in taxonomy order; triggers outside their active dates are skipped."""
    return tag_normalized(normalize_text(text), taxonomy or load_taxonomy(), on_date)
