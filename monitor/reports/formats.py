"""How numbers, labels and links read in the report; the Jinja2 filters of its templates."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

DASH = "–"
MISSING = "n/a"

CATEGORY_LABELS = {
    "conspiracy": "Conspiracy myths",
    "dehumanization": "Dehumanization",
    "holocaust_denial": "Holocaust denial or distortion",
    "collective_blame": "Collective blame",
    "dual_loyalty": "Dual-loyalty accusations",
    "classic_tropes": "Classic tropes",
    "delegitimization": "Delegitimization (denying Jewish self-determination)",
    "none": "Not antisemitic",
    "": "Antisemitic, category unknown",
}


def label(identifier: str, triggers: Mapping[str, str] | None = None) -> str:
    """A readable name for a category id, or a trigger id of `triggers` (id -> label, as the report read them from
    the taxonomy); else the id made readable."""
    if identifier in CATEGORY_LABELS:
        return CATEGORY_LABELS[identifier]
    return (triggers or {}).get(identifier) or identifier.replace("_", " ").capitalize()


def number(value: int | None) -> str:
    """An integer with thin thousands separators, or n/a."""
    return MISSING if value is None else f"{value:,}".replace(",", "\u202f")


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0..1) as a percentage."""
    return MISSING if share is None else f"{share * 100:.{digits}f}%"


def interval(bounds: tuple[float, float] | None) -> str:
    """A 95% interval of a share, like "4.0–8.2%"."""
    if bounds is None:
        return MISSING
    return f"{bounds[0] * 100:.1f}{DASH}{bounds[1] * 100:.1f}%"


def signed_percent(change: float | None) -> str:
    """A percent change with its sign, like "+14.3%"."""
    return MISSING if change is None else f"{change:+.1f}%"


def signed_points(change: float | None) -> str:
    """A change in percentage points with its sign, like "+0.7 pp"."""
    return MISSING if change is None else f"{change:+.1f} pp"


def signed_count(change: int | None) -> str:
    """A change in a count with its sign."""
    return MISSING if change is None else f"{change:+,}".replace(",", "\u202f")


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: post URLs come from hostile sources (javascript:, data:)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


FILTERS = {
    "label": label,
    "number": number,
    "percent": percent,
    "interval": interval,
    "signed_percent": signed_percent,
    "signed_points": signed_points,
    "signed_count": signed_count,
    "safe_url": safe_url,
}
