"""The trigger taxonomy in use: the file VIGIL_TRIGGERS_FILE names, else the packaged classifiers/triggers.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
import yaml

from monitor.config import Settings, get_settings

if TYPE_CHECKING:
    from classifiers.taxonomy import Taxonomy

log = structlog.get_logger(__name__)


def current_taxonomy(settings: Settings | None = None) -> Taxonomy:
    """The taxonomy workers tag with, reports label with and labels are checked against, as the file is now
    (`load_taxonomy` reads it again when it changes, and keeps the last version that compiled).

    A file that this process never could read or compile (a typo in it when the worker started) gives the
    packaged taxonomy, logged as an error at each call: a typo must not stop classification, and posts tagged
    meanwhile carry the packaged taxonomy's digest, so `vigil reclassify` tags them again once the file is fixed.
    """
    from classifiers.taxonomy import load_taxonomy

    path = (settings or get_settings()).triggers_file
    if path is None:
        return load_taxonomy()
    try:
        return load_taxonomy(path)
    except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
        log.error("triggers_file_unusable", path=str(path), error=str(exc)[:300], using="packaged triggers.yaml")
        return load_taxonomy()
