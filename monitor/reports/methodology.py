"""The classifier behind a report: its version and evaluation figures, read from its model card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of the model card: a test set and the detector's scores on it."""

    name: str
    rows: int | None
    antisemitic: int | None
    precision: float | None
    recall: float | None
    f1: float | None
    auc: float | None


@dataclass(frozen=True)
class ModelCard:
    """What the report says about the model: version, threshold, languages and evaluations."""

    version: str
    created: str | None
    threshold: float | None
    languages: list[str]
    protocol: str | None
    evaluations: list[Evaluation]
    category_f1: dict[str, dict[str, float]]  # evaluation name -> category -> F1


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def summarise_card(card: dict) -> ModelCard:
    """The report's view of a card.json; unknown or missing fields are left out, not guessed."""
    evaluations, category_f1 = [], {}
    for name, scores in (card.get("scores") or {}).items():
        if not isinstance(scores, dict):
            continue
        if "f1" in scores:
            rows, positives = _number(scores.get("rows")), _number(scores.get("antisemitic"))
            evaluations.append(Evaluation(
                name, None if rows is None else int(rows), None if positives is None else int(positives),
                _number(scores.get("precision")), _number(scores.get("recall")), _number(scores.get("f1")),
                _number(scores.get("auc"))))
        else:  # per-category F1 (the card's "<set>_categories_f1" entries)
            per_category = {k: float(v) for k, v in scores.items() if k != "rows" and _number(v) is not None}
            if per_category:
                category_f1[name] = per_category
    return ModelCard(
        version=str(card.get("version", "unknown")),
        created=card.get("created"),
        threshold=_number(card.get("threshold")),
        languages=[str(language) for language in card.get("languages") or []],
        protocol=card.get("protocol"),
        evaluations=evaluations,
        category_f1=category_f1,
    )


def read_model_card(model_dir: Path | None = None) -> ModelCard | None:
    """The card of the model in `model_dir` (default: the packaged model); None when it cannot be read."""
    from classifiers.artifacts import ModelLoadError, default_model_dir, read_card

    try:
        return summarise_card(read_card(model_dir or default_model_dir()))
    except (ModelLoadError, OSError, ValueError) as exc:
        log.warning("model_card_unreadable", model_dir=str(model_dir), error=type(exc).__name__)
        return None
