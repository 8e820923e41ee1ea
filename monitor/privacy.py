"""Author pseudonyms (keyed HMAC) and content hashes: we store neither handles nor raw duplicates."""

from __future__ import annotations

import hashlib
import hmac
import re

_SPACE = re.compile(r"\s+")


def pseudonymise(handle: str | None, key: bytes) -> str | None:
    """A stable pseudonym for a platform handle; without the key it cannot be reversed or recomputed."""
    if not handle or not handle.strip():
        return None
    canonical = handle.strip().lstrip("@").casefold()
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def content_hash(text: str) -> str:
    """A hash of the text with case and spacing folded, to spot the same text reposted."""
    folded = _SPACE.sub(" ", text).strip().casefold()
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def excerpt(text: str, limit: int = 200) -> str:
    """A truncated excerpt for reports and alerts; full texts never leave the database."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
