"""Country codes: ISO 3166-1 alpha-2, validated with pycountry."""

from __future__ import annotations

import pycountry


class CountryError(ValueError):
    """Not an ISO 3166-1 alpha-2 country code."""


def validate_country(code: str | None) -> str:
    """Return the upper-case alpha-2 code, or raise CountryError."""
    if not code or not isinstance(code, str):
        raise CountryError("missing country code")
    cc = code.strip().upper()
    if len(cc) != 2 or pycountry.countries.get(alpha_2=cc) is None:
        raise CountryError(f"not an ISO 3166-1 alpha-2 country code: {code[:20]!r}")
    return cc


def country_name(code: str) -> str:
    """The English short name of a country code, or the code itself."""
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or getattr(country, "name", code) if country else code
