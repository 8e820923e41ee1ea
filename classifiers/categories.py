"""The fixed category ids, aligned with the IHRA working definition (see docs/taxonomy.md)."""

from __future__ import annotations

NONE = "none"

ANTISEMITIC_CATEGORIES: tuple[str, ...] = (
    "conspiracy",
    "dehumanization",
    "holocaust_denial",
    "collective_blame",
    "dual_loyalty",
    "classic_tropes",
    "delegitimization",
)

CATEGORIES: tuple[str, ...] = (*ANTISEMITIC_CATEGORIES, NONE)


def check_category(category: str | None, antisemitic: bool) -> str:
    """Return a valid category id for a row, or raise ValueError when it is unknown or contradicts the label."""
    if not antisemitic:
        if category not in (None, "", NONE):
            raise ValueError(f"non-antisemitic row has category {category!r}")
        return NONE
    if category in (None, ""):
        return ""  # antisemitic with unknown category (e.g. ISCA rows)
    if category not in ANTISEMITIC_CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {ANTISEMITIC_CATEGORIES}")
    return category
