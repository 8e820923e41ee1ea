"""Training rows: the packaged seeds, JSONL files, and adapters for the shared data sets (ISCA).

A row is a dict {"text", "antisemitic": bool, "lang", "category", "triggers"?, "split"?, "source"}.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from classifiers.categories import check_category

PACKAGE_DIR = Path(__file__).parent
ISCA_FILE = "GoldStandard2024.csv"
ISCA_TRAIN_YEARS = range(2019, 2022)
ISCA_TEST_YEARS = range(2022, 2024)
TOXIGEN_FILE = "toxigen_annotated_train.csv"
TOXIGEN_SOURCE = "toxigen"
HATEXPLAIN_VALIDATION_SOURCE = "hatexplain-val"
HATEXPLAIN_FILE = "hatexplain_test_val.csv"
# ToxiGen's human toxicity is the mean of 1-5 annotator scores: >= 3 toxic, <= 2 benign, between dropped.
TOXIGEN_TOXIC, TOXIGEN_BENIGN = 3.0, 2.0
# Statements hostile to other groups teach "hostility toward other targets is not antisemitism"; they are
# many (3,089 against 596 about Jews), so they count a quarter each. Weights 0.1 / 0.25 / 0.5 / 1 were
# compared on validation only (grouped CV over ISCA 2019-2021 and the HateXplain validation split).
TOXIGEN_OTHER_TARGET_WEIGHT = 0.25
HELDOUT = "heldout"
TRAIN = "train"


def hash_split(text: str, heldout_percent: int = 20) -> str:
    """Deterministic split from the text alone, so edits elsewhere never move a row between splits."""
    bucket = int(hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:8], 16) % 100
    return HELDOUT if bucket < heldout_percent else TRAIN


def check_row(row: dict, where: str = "row") -> dict:
    """Validate and complete one training row; raise ValueError naming `where` when it is unusable."""
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: missing text")
    label = row.get("antisemitic")
    if label in (0, 1, "0", "1", "true", "false"):
        label = str(label).lower() in ("1", "true")
    if not isinstance(label, bool):
        raise ValueError(f"{where}: `antisemitic` must be true/false")
    try:
        category = check_category(row.get("category"), label)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return {
        **row, "text": text, "antisemitic": label, "category": category,
        "lang": row.get("lang") or None, "split": row.get("split") or hash_split(text),
    }


def read_jsonl(path: str | Path, source: str | None = None) -> list[dict]:
    """Training rows from a JSONL file, each validated; a row without `split` gets the hash split."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                row = check_row(json.loads(line), f"{path}:{n}")
                packaged = Path(path).resolve().parent == (PACKAGE_DIR / "seeds").resolve()
                row.setdefault("source", source or ("seeds" if packaged else Path(path).name))
                rows.append(row)
    return rows


def seed_rows(split: str | None = None) -> list[dict]:
    """The project's own seed examples (en/ru/hy/de), optionally only the `train` or `heldout` split."""
    rows = []
    for entry in sorted((PACKAGE_DIR / "seeds").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".jsonl"):
            for n, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    rows.append({**check_row(json.loads(line), f"seeds/{entry.name}:{n}"), "source": "seeds"})
    return [r for r in rows if split is None or r["split"] == split]


# The hand-written check sets in classifiers/heldout/, none antisemitic and never trained on: name -> what the model
# card says of them. Training scores each (`<name>-heldout_false_positives`); reviewed labels never train on them.
HELDOUT_CHECKS = {
    "neutral": "Hand-written neutral posts never used in training",
    "mentions": "Hand-written ordinary mentions of Jews, Jewish life and Israel, short and long, never used in "
                "training or in any choice",
    "negations": "Hand-written negated claims about Jews (\"Jews don't own the newspapers\"), none antisemitic, "
                 "never used in training or in any choice",
}


def heldout_check_rows(name: str) -> list[dict]:
    """The rows of the check set `name` of HELDOUT_CHECKS (ru/hy/en/de)."""
    return read_jsonl(PACKAGE_DIR / "heldout" / f"{name}.jsonl", source=f"{name}-heldout")


def neutral_heldout_rows() -> list[dict]:
    """Hand-written neutral posts kept out of all training: a check on false positives."""
    return heldout_check_rows("neutral")


def mentions_heldout_rows() -> list[dict]:
    """Ordinary mentions of Jews, Jewish life and Israel, kept out of all training and of every choice: a check that
    naming Jews is not taken for hostility."""
    return heldout_check_rows("mentions")


def negations_heldout_rows() -> list[dict]:
    """Denied claims about Jews, kept out of all training and of every choice: a check that a denied claim is not
    taken for the claim."""
    return heldout_check_rows("negations")


def data_file(path: str | Path, name: str) -> Path:
    """`path` itself, or the file `name` inside it when `path` is a data set's folder."""
    path = Path(path)
    return path / name if path.is_dir() else path


def isca_rows(path: str | Path) -> Iterator[dict]:
    """ISCA GoldStandard2024 rows (CC BY 4.0, Jikeli et al.); the Keyword column is dropped, it leaks the label."""
    with data_file(path, ISCA_FILE).open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            yield {
                "text": rec["Text"], "antisemitic": rec["Biased"].strip() == "1", "lang": "en",
                "category": "", "created": dt.date.fromisoformat(rec["CreateDate"][:10]),
                "source": "isca",
            }


def toxigen_rows(path: str | Path) -> list[dict]:
    """ToxiGen human-annotated train rows (CDLA-Permissive-2.0, Hartvigsen et al. 2022) as training rows.

    Statements about Jews: toxic -> antisemitic (category unknown), benign -> not. Toxic statements about the
    twelve other groups -> not antisemitic, weight TOXIGEN_OTHER_TARGET_WEIGHT. Texts are machine-written English.
    A toxic statement about Jews that names no Jewish target (127 of 294: "they ...") is dropped: as text it
    cannot be told from hostility to anyone, and the detector's calibration counts on a post naming its target
    (classifiers/calibration.py). A toxic statement filed under another group that names a Jewish target (67 of
    3,089) is dropped too: the group is the one the generator was prompted with, and such a text is often
    antisemitic.
    """
    from classifiers.features import names_target

    path = data_file(path, TOXIGEN_FILE)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            text, toxicity = rec["text"].strip().strip('"').strip(), float(rec["toxicity_human"])
            if not text:
                continue
            if rec["target_group"] == "jewish" and toxicity >= TOXIGEN_TOXIC:
                if not names_target(text):
                    continue
                row = {"antisemitic": True, "weight": 1.0}
            elif rec["target_group"] == "jewish" and toxicity <= TOXIGEN_BENIGN:
                row = {"antisemitic": False, "weight": 1.0}
            elif rec["target_group"] != "jewish" and toxicity >= TOXIGEN_TOXIC:
                if names_target(text):  # the group is the generator's prompt, not always who is attacked
                    continue
                row = {"antisemitic": False, "weight": TOXIGEN_OTHER_TARGET_WEIGHT}
            else:
                continue
            rows.append({**row, "text": text, "lang": "en", "category": "", "source": TOXIGEN_SOURCE})
    return rows


def hatexplain_jewish(path: str | Path, split: str = "test") -> list[dict]:
    """HateXplain posts of one official split (MIT, Mathew et al. 2021): those whose majority target is Jews
    (hatespeech or offensive) as antisemitic, and every normal post as not. The test split is for evaluation
    only; the validation split ("val") may tune, and is used only to choose the threshold."""
    path = data_file(path, HATEXPLAIN_FILE)
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    # A validation post whose text is also a test post is left out, so tuning never sees a test text.
    test_texts = {text_group(rec["text"]) for rec in records if rec["split"] == "test"} if split != "test" else set()
    rows = []
    for rec in records:
        if rec["split"] != split or text_group(rec["text"]) in test_texts:
            continue
        if rec["label"] == "normal":
            rows.append({"text": rec["text"], "antisemitic": False})
        elif rec["target_jewish_majority"] == "1":
            rows.append({"text": rec["text"], "antisemitic": True})
    source = HATEXPLAIN_VALIDATION_SOURCE if split == "val" else f"hatexplain-{split}"
    return [{**r, "lang": "en", "category": "", "source": source} for r in rows]


def isca_temporal(path: str | Path) -> tuple[list[dict], list[dict]]:
    """The isca-temporal protocol: (train = created 2019-2021, test = created 2022-2023)."""
    train, test = [], []
    for row in isca_rows(path):
        year = row["created"].year
        if year in ISCA_TRAIN_YEARS:
            train.append(row)
        elif year in ISCA_TEST_YEARS:
            test.append(row)
    return train, test


def text_group(text: str) -> str:
    """Grouping key so that retweets (identical texts) never straddle a split."""
    return hashlib.sha1(" ".join(text.casefold().split()).encode("utf-8")).hexdigest()


def rows_by_split(rows: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """(train rows, held-out rows) by each row's `split` field."""
    train, heldout = [], []
    for row in rows:
        (heldout if row.get("split") == HELDOUT else train).append(row)
    return train, heldout
