"""Save and load model directories: model.joblib + card.json + MODEL_CARD.md.

joblib files are pickles: loading one runs code. Load models only from files you trust (the packaged
default, or a directory your own team trained); the card's sha256 check catches corruption and edits,
not a malicious card written alongside a malicious model.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import platform
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn

from classifiers.categories import CATEGORIES
from classifiers.model import Model

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
README_FILE = "MODEL_CARD.md"


class ModelLoadError(RuntimeError):
    """The model directory is missing, altered, or was built with another scikit-learn."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__}


# What each flag step of the detector's features marks, for the card.
FLAG_TEXT = {"slur": "posts holding a slur for Jews", "target": "posts naming no Jewish/Israeli target"}


def detector_settings(model: Model) -> dict:
    """The detector's settings the card describes: char n-gram range, flag steps (those after the n-grams) and C."""
    steps = dict(model.detector.named_steps["features"].transformer_list)
    return {"char_ngrams": list(steps["char"].named_steps["hash"].ngram_range),
            "flags": [name for name in steps if name not in ("word", "char")],
            "C": model.detector.named_steps["clf"].C}


def save_model(model: Model, out: str | Path, *, training_data: list[dict], scores: dict, protocol: str,
               reviews: dict | None = None) -> dict:
    """Write model.joblib, card.json and MODEL_CARD.md into `out`; return the card.

    `reviews` (from training with analysts' labels): counts used and held out, and the before/after comparison.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / MODEL_FILE, compress=("xz", 3))
    card = {
        "version": model.version,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "threshold": model.threshold,
        "languages": list(model.languages),
        "detector": detector_settings(model),
        "categories": list(CATEGORIES),
        "training_data": training_data,
        "protocol": protocol,
        "scores": scores,
        "libraries": library_versions(),
        "model_file": MODEL_FILE,
        "sha256": sha256_of(out / MODEL_FILE),
        "size_bytes": (out / MODEL_FILE).stat().st_size,
    }
    learner = model.trigger_learner
    if learner is not None:
        card["trigger_learner"] = learner.card()
    if reviews is not None:
        card["reviews"] = reviews
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / README_FILE).write_text(render_card(card), encoding="utf-8")
    return card


def record_evaluation(path: str | Path, results: dict, command: str) -> dict:
    """Store `vigil evaluate` results in a model directory's card (the model file and its sha256 are untouched)."""
    path = Path(path)
    card = read_card(path)
    card["evaluation"] = {"command": command, "date": dt.date.today().isoformat(), "results": results}
    (path / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (path / README_FILE).write_text(render_card(card), encoding="utf-8")
    return card


def _mhc_coverage(mhc: dict) -> str:
    covered = sorted(lang for lang, m in mhc.items() if isinstance(m, dict) and m.get("vigil", {}).get("language_covered"))
    others = sorted(lang for lang, m in mhc.items() if isinstance(m, dict) and lang not in covered)
    marked = ", ".join(f"{lang} {m['vigil']['marked_covered_share']}" for lang, m in sorted(mhc.items())
                       if isinstance(m, dict) and "marked_covered_share" in m.get("vigil", {}))
    return (f"mhc-jewish languages covered by Vigil's seeds: {', '.join(covered) or 'none'}; not covered "
            f"(`language_covered: false`, scored for the record): {', '.join(others) or 'none'}."
            + (f" Share of the cases (given without a language) that predict marks covered: {marked}." if marked
               else ""))


def _peers_sentence(evaluation: dict) -> str:
    """What the card says of the off-the-shelf peers (classifiers.peers), from the results' "peers" entry."""
    status = evaluation["results"].get("peers")
    if not status:
        return ""
    from classifiers.peers import RULES

    scored = [f"{name} ({RULES[name]})" if name in RULES else name for name, state in status.items()
              if state == "scored"]
    missing = [f"{name} ({state})" for name, state in status.items() if state != "scored"]
    return (" Off-the-shelf offensive-language classifiers, pre-trained and never trained here, keep their own "
            "scores and decision rules: " + (f"scored: {', '.join(scored)}" if scored else "none scored")
            + (f"; left out: {'; '.join(missing)}" if missing else "") + ".")


def _evaluation_lines(evaluation: dict) -> list[str]:
    from classifiers.evaluation import RECALL_AT_PRECISION, TARGET_PRECISION  # rendering only: workers need none

    lines = ["", f"## Fixed protocols (`{evaluation['command']}`, {evaluation['date']})", "",
             "Each protocol trains its own models on its training rows only (same recipe as this model); "
             "reference = TF-IDF word 1-2 + char 2-5 with class-balanced logistic regression. Evaluation-only data "
             "(never trained on): HateXplain test split (MIT; Mathew et al., AAAI 2021) and Multilingual HateCheck "
             "(CC BY 4.0; Röttger et al., WOAH 2022). " + _mhc_coverage(evaluation["results"].get("mhc-jewish", {})),
             "", "Precision, recall and F1 are at each model's own threshold: Vigil's is chosen on validation rows "
             "(ISCA's latest train-year slice, a seed slice and HateXplain's validation split), the reference keeps "
             f"0.5, so compare AUC and R@P{TARGET_PRECISION} (the best recall at precision >= {TARGET_PRECISION} "
             "on the scored rows, a ranking measure like AUC) across models. Brier (mean squared error of the "
             "score) and ECE (expected calibration error over ten score bins) say how far each score reads as a "
             "probability on those rows; Vigil's is calibrated on its own training mix, so expect it to drift on "
             "data sets unlike it." + _peers_sentence(evaluation), "",
             f"| protocol | model | rows | positive | precision | recall | F1 | AUC | R@P{TARGET_PRECISION} | Brier | ECE |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def rows(name: str, by_model: dict) -> None:
        for model, m in by_model.items():
            if isinstance(m, dict) and "precision" in m:
                lines.append(f"| {name} | {model} | {m['rows']} | {m['positive']} | {m['precision']} | "
                             f"{m['recall']} | {m['f1']} | {m['auc']} | {m.get(RECALL_AT_PRECISION, '')} | "
                             f"{m.get('brier', '')} | {m.get('calibration_error', '')} |")

    for protocol, result in evaluation["results"].items():
        if protocol == "peers":
            continue
        if protocol == "mhc-jewish":
            for lang, by_model in result.items():
                if isinstance(by_model, dict):
                    rows(f"mhc-jewish {lang}", by_model)
        else:
            rows(protocol, result)
    return lines


def _reviews_lines(reviews: dict) -> list[str]:
    lines = ["", "## Analysts' reviewed labels", "",
             f"{reviews['train']} reviewed labels trained on (weight {reviews['weight']}), {reviews['heldout']} held "
             f"out ({reviews['heldout_percent']}% by a hash of the text, never trained on) and scored as "
             f"`reviews-heldout`; {reviews['dropped_overlap']} dropped because their text is also an evaluation "
             "or training row."]
    if not reviews.get("comparison"):
        return lines + ["", f"No before/after comparison: {reviews.get('comparison_skipped', 'none computed')}."]
    lines += ["", "Score change the reviewed labels brought: the same configuration trained without them (before) "
              "and with them (after).", "",
              "| split | rows | precision before / after | recall before / after | F1 before / after | "
              "AUC before / after |", "|---|---|---|---|---|---|"]
    for name, c in reviews["comparison"].items():
        b, a, d = c["before"], c["after"], c["change"]
        lines.append(f"| {name} | {a['rows']} | " + " | ".join(
            f"{b[k]} / {a[k]} ({d[k]:+})" if d[k] is not None else f"{b[k]} / {a[k]}"
            for k in ("precision", "recall", "f1", "auc")) + " |")
    return lines


def _detector_text(card: dict) -> str:
    """The card's sentence on features and regression, from its `detector` settings (cards before them say less)."""
    settings = card.get("detector")
    if settings is None:
        return ("hashed TF-IDF of word 1-2-grams and char n-grams, with flags (settings not recorded in this card) "
                "-> class-balanced logistic regression on the n-grams, ")
    low, high = settings["char_ngrams"]
    flags = " and for ".join(FLAG_TEXT.get(f, f) for f in settings["flags"])
    return (f"hashed TF-IDF of word 1-2-grams and char_wb {low}-{high}-grams"
            + (f", plus flags for {flags}" if flags else "")
            + f" -> class-balanced logistic regression on the n-grams (C={settings['C']}), ")


def _prf(scores: dict) -> str:
    return f"{scores['precision']} / {scores['recall']} / {scores['f1']}"


def render_card(card: dict) -> str:
    """The human-readable model card."""
    lines = [
        f"# Vigil antisemitism classifier {card['version']}", "",
        f"Created {card['created']}. Threshold {card['threshold']:.4f} (chosen for best F1 on validation "
        "rows, never on test rows). Covered languages: " + ", ".join(card["languages"]) + ".", "",
        "Pipeline: normalisation (NFKC, casefold, URL/@mention placeholders, obfuscation folding) -> "
        + _detector_text(card) + "Platt-calibrated on its out-of-fold score and the flags (classifiers/calibration.py). "
        "Categories come from a second pipeline trained on the project's seed examples. Triggers come "
        "from `classifiers/triggers.yaml` at prediction time, plus a learned per-trigger logistic regression "
        "(classifiers/trigger_learner.py) for triggers with enough labelled seed rows; a learned trigger is "
        "reported only while the YAML lists it and it is active, so editing the YAML needs no retraining. A generated background corpus of "
        "neutral everyday sentences in Russian, Armenian, English and German keeps ordinary text in those languages "
        "from scoring high merely because most seed text in them is about Jews; its ordinary mentions of Jews, "
        "Jewish life and Israel, weighted like the seeds, keep a post from scoring high merely because it names "
        "Jews.", "",
        "## Training data", "",
    ]
    lines += [f"- **{d['name']}** ({d['licence']}; credit: {d['credit']}): {d['used']}" for d in card["training_data"]]
    lines += ["", f"## Scores ({card['protocol']})", "", "| split | rows | antisemitic | precision | recall | F1 | AUC |",
              "|---|---|---|---|---|---|---|"]
    for name, s in card["scores"].items():
        if "precision" in s:
            lines.append(f"| {name} | {s['rows']} | {s['antisemitic']} | {s['precision']} | {s['recall']} | "
                         f"{s['f1']} | {s['auc']} |")
    cats = card["scores"].get("heldout_categories_f1")
    if cats:
        lines += ["", f"Per-category F1 on {cats['rows']} held-out antisemitic seed rows (category given "
                  "antisemitic): " + ", ".join(f"{k} {v}" for k, v in cats.items() if k != "rows") + "."]
    trig = card["scores"].get("heldout_triggers")
    if trig:
        lines += ["", f"Triggers on {trig['yaml_terms']['rows']} held-out seed rows labelled with triggers, micro "
                  f"precision / recall / F1: YAML terms alone {_prf(trig['yaml_terms'])}; YAML and learned "
                  f"{_prf(trig['yaml_and_learned'])} ({trig['added_by_learned']} triggers added by the learned part)."]
    if card.get("trigger_learner"):
        learned = card["trigger_learner"]["learned"]
        lines += ["", "Learned triggers (threshold, labelled positives): " + (", ".join(
            f"{t} ({v['threshold']}, {v['positives']})" for t, v in learned.items()) or "none") + "; YAML terms only: "
            + (", ".join(card["trigger_learner"]["yaml_only"]) or "none") + " (of which no gain out of fold: "
            + (", ".join(card["trigger_learner"].get("no_gain_over_terms", [])) or "none") + ")."]
    from classifiers.data import HELDOUT_CHECKS

    for name, what in HELDOUT_CHECKS.items():
        if fps := card["scores"].get(f"{name}-heldout_false_positives"):
            lines += ["", f"{what} (`classifiers/heldout/{name}.jsonl`), flagged / rows (highest score): "
                      + ", ".join(f"{lang} {v['flagged']}/{v['rows']} ({v['max_score']})" for lang, v in fps.items())
                      + "."]
    if card.get("reviews"):
        lines += _reviews_lines(card["reviews"])
    if card.get("evaluation"):
        lines += _evaluation_lines(card["evaluation"])
    lines += ["", "## Limits", "",
              "- A short post that names Jews can still score as antisemitic, a lone word (\"Jewish\", \"Еврей\", "
              "\"Jude\") most of all: with so few words the name itself carries the score. The held-out check of "
              "ordinary mentions above gives the measured rate.",
              "- A linear model over surface features: it misses implicit or coded antisemitism it has not seen, and "
              "it can flag counter-speech that quotes antisemitic claims, and a claim that is only denied (\"Jews "
              "don't control the media\") reads to it much like the claim (`classifiers/heldout/negations.jsonl` "
              "measures how often). Scores are for triage by analysts, not for automated decisions about people.",
              "- Russian, Armenian and German rest on seed examples written by the project (a few hundred rows per "
              "language at most, antisemitic and not); treat scores in those languages as indicative. Posts in "
              "other languages get `language_covered: false`.",
              "- Criticism of Israeli government policy is not antisemitic by itself (IHRA); see docs/taxonomy.md.",
              "", "## Libraries", "", ", ".join(f"{k} {v}" for k, v in card["libraries"].items()),
              "", "`model.joblib` is a pickle: load it only from trusted files. Its sha256 is in `card.json`: "
              f"`{card['sha256']}`.", ""]
    return "\n".join(lines)


def read_card(path: str | Path) -> dict:
    card_path = Path(path) / CARD_FILE
    if not card_path.is_file():
        raise ModelLoadError(f"no {CARD_FILE} in {path}")
    return json.loads(card_path.read_text(encoding="utf-8"))


def verify_model_dir(path: str | Path) -> dict:
    """Check the card against the running libraries and the joblib's sha256; return the card or raise ModelLoadError."""
    path = Path(path)
    card = read_card(path)
    trained_with = card.get("libraries", {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelLoadError(f"model in {path} was trained with scikit-learn {trained_with}, this process has "
                             f"{sklearn.__version__}; retrain it (see docs/taxonomy.md) or install the same version")
    model_path = path / card.get("model_file", MODEL_FILE)
    if not model_path.is_file():
        raise ModelLoadError(f"no {model_path.name} in {path}")
    if sha256_of(model_path) != card.get("sha256"):
        raise ModelLoadError(f"{model_path} does not match the sha256 in its card; refusing to load it")
    return card


def load_model(path: str | Path | None = None) -> Model:
    """Load a model directory (trusted files only), once per process while its files are unchanged; None gives
    the packaged default. Workers call this per batch: a model is verified and unpickled only when it changed."""
    if path is None:
        return _default_model()
    path = Path(path).resolve()
    stamps = tuple(f.stat().st_mtime_ns if f.exists() else None for f in (path / CARD_FILE, path / MODEL_FILE))
    return _load_unchanged(path, stamps)


@functools.lru_cache(maxsize=4)
def _load_unchanged(path: Path, stamps: tuple[int | None, ...]) -> Model:  # noqa: ARG001 - the cache key
    card = verify_model_dir(path)
    model = joblib.load(Path(path) / card.get("model_file", MODEL_FILE))
    if not isinstance(model, Model):
        raise ModelLoadError(f"{path} does not hold a classifiers.model.Model")
    return model


def default_model_dir() -> Path:
    return Path(__file__).parent / "default_model"


@functools.lru_cache(maxsize=1)
def _default_model() -> Model:
    return load_model(default_model_dir())
