"""The trigger taxonomy in use: the file VIGIL_TRIGGERS_FILE names, else the packaged classifiers/triggers.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.config import Settings, get_settings

if TYPE_CHECKING:
    from classifiers.taxonomy import Taxonomy


def current_taxonomy(settings: Settings | None = None) -> Taxonomy:
    """The taxonomy workers tag with, reports label with and labels are checked against, as the file is now
    (`load_taxonomy` reads it again when it changes, and keeps the last version that compiled)."""
    from classifiers.taxonomy import load_taxonomy

    return load_taxonomy((settings or get_settings()).triggers_file)
