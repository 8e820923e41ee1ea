"""The `train`, `classify` and `evaluate` commands, mounted in the `vigil` CLI (runnable alone: python -m classifiers.commands)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, TextIO

import typer

app = typer.Typer(help="Train and run Vigil's antisemitism classifier.", no_args_is_help=True)

# One encoder for every output row (json.dumps with an option builds a new one per call).
_encode = json.JSONEncoder(ensure_ascii=False).encode


@app.command()
def train(
    data: Annotated[list[Path], typer.Argument(help="JSONL files of rows {text, antisemitic, lang?, category?}",
                                               exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="model directory to write")],
    isca: Annotated[Path | None, typer.Option(help="ISCA GoldStandard2024.csv (or its folder): add its "
                                                     "isca-temporal train years and evaluate on its test years")] = None,
    toxigen: Annotated[Path | None, typer.Option(help="ToxiGen annotated train CSV (or its folder): add its "
                                                        "statements about Jews and its toxic ones about other groups")
                       ] = None,
    hatexplain: Annotated[Path | None, typer.Option(help="HateXplain test/val CSV (or its folder): its validation "
                                                           "split helps choose the threshold; never fitted")] = None,
    seed_weight: Annotated[float, typer.Option(help="sample weight of the JSONL rows")] = 5.0,
    background: Annotated[bool, typer.Option(help="add the generated neutral background corpus (ru/hy/en/de)")] = True,
    with_reviews: Annotated[bool, typer.Option("--with-reviews", help="add analysts' labels from the configured "
                                               "database; 20% of them (by text) are held out and scored")] = False,
    review_weight: Annotated[float, typer.Option(help="sample weight of the reviewed labels")] = 5.0,
    compare: Annotated[bool, typer.Option(help="with --with-reviews, also train without them to record the score "
                                               "change they bring (twice the time)")] = True,
) -> None:
    """Train a model; rows with split=heldout (or hashed into it) are kept out and evaluated."""
    from classifiers.data import read_jsonl
    from classifiers.training import train_and_evaluate

    rows = [row for path in data for row in read_jsonl(path)]
    reviews = read_reviews() if with_reviews else None
    model, scores = train_and_evaluate(rows, out, isca=isca, toxigen=toxigen, hatexplain=hatexplain, seed_weight=seed_weight, background=background,
                                       reviews=reviews, review_weight=review_weight, compare=compare)
    typer.echo(f"model {model.version} written to {out}; threshold {model.threshold:.4f}")
    for name, s in scores.items():
        typer.echo(f"{name}: " + ", ".join(f"{k} {v}" for k, v in s.items()))
    if reviews is not None:
        from classifiers.artifacts import read_card

        card = read_card(out)["reviews"]
        typer.echo(f"reviewed labels: {card['train']} trained on, {card['heldout']} held out, "
                   f"{card['dropped_overlap']} dropped as copies of evaluation or training text")
        for name, c in (card["comparison"] or {}).items():
            typer.echo(f"{name} change with reviews: " + ", ".join(f"{k} {v:+}" if v is not None else f"{k} n/a"
                                                                   for k, v in c["change"].items()))


def read_reviews() -> list[dict]:
    """Reviewed labels from the configured database, in a transaction that only reads and is rolled back."""
    from sqlalchemy import text

    from classifiers.training import reviewed_rows
    from monitor.config import get_settings
    from monitor.db import session_factory

    with session_factory(get_settings().sqlalchemy_url)() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION READ ONLY"))
        return reviewed_rows(session)


def read_posts(stream: IO) -> Iterator[tuple[int, dict | None, dict | None]]:
    """(line number, post, error row) for each non-blank input line; exactly one of post/error is set.

    A binary stream is decoded line by line, so a line that is not UTF-8 is an error row of its own."""
    for line_no, line in enumerate(stream, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, None, {"line": line_no, "error": f"not UTF-8 (byte {exc.start})"}
                continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, None, {"line": line_no, "error": f"not JSON: {exc.msg}"}
            continue
        if not isinstance(row, dict):
            yield line_no, None, {"line": line_no, "error": "not a JSON object"}
            continue
        post_id = row.get("id") if isinstance(row.get("id"), (str, int, float, type(None))) else None
        error = _post_error(row)
        yield (line_no, None, {"id": post_id, "line": line_no, "error": error}) if error else (line_no, row, None)


def _post_error(row: dict) -> str | None:
    """Why a JSON object cannot be classified, or None."""
    text, lang = row.get("text"), row.get("lang")
    if not isinstance(text, str) or not text.strip():
        return "missing text"
    if lang is not None and not isinstance(lang, str):
        return f"lang must be a string, not {type(lang).__name__}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text is not valid Unicode (a lone surrogate)"
    return None


def classify_stream(model, stream: IO, out: TextIO, batch_size: int | None = None,
                    taxonomy=None) -> tuple[int, int]:
    """Classify JSONL posts from `stream` into `out` in batches (default: Model.predict's own, so each call is one
    full batch), keeping input order; return (classified, errors). Triggers come from `taxonomy` (default: the
    model's, i.e. the packaged triggers.yaml)."""
    from classifiers.model import BATCH_SIZE

    batch_size = batch_size or BATCH_SIZE
    done = errors = 0
    pending: list[tuple[dict | None, dict | None]] = []

    def flush() -> None:
        posts = [p for p, _ in pending if p is not None]
        preds = iter(model.predict([p["text"] for p in posts], [p.get("lang") for p in posts], taxonomy=taxonomy))
        for post, error in pending:
            if error is not None:
                out.write(_encode(error) + "\n")
                continue
            pred = next(preds)
            out.write(_encode({"id": post.get("id"), "antisemitic": pred.antisemitic, "score": pred.score,
                               "category": pred.category, "triggers": pred.triggers,
                               "explanation": pred.explanation, "language_covered": pred.language_covered}) + "\n")
        pending.clear()

    for _, post, error in read_posts(stream):
        pending.append((post, error))
        done += post is not None
        errors += error is not None
        if len(pending) >= batch_size:
            flush()
    flush()
    return done, errors


@app.command()
def classify(
    input: Annotated[Path, typer.Argument(help="JSONL posts {id, text, lang?}; '-' for stdin")],  # noqa: A002
    model_dir: Annotated[Path | None, typer.Option("--model", help="model directory (default: packaged)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="JSONL to write (default: stdout)")] = None,
) -> None:
    """Classify posts; bad rows become {id?, line, error} rows and the rest go on. Triggers come from the file
    VIGIL_TRIGGERS_FILE names, else the packaged triggers.yaml."""
    from classifiers.artifacts import ModelLoadError, load_model
    from monitor.triggers import current_taxonomy

    try:
        model = load_model(model_dir)
    except ModelLoadError as exc:  # a refused model is the operator's to fix: say why, without a traceback
        raise typer.BadParameter(str(exc), param_hint="--model") from None
    taxonomy = current_taxonomy()
    src = sys.stdin.buffer if str(input) == "-" else input.open("rb")  # bytes: each line decoded on its own
    dst = sys.stdout if output is None else output.open("w", encoding="utf-8")
    try:
        done, errors = classify_stream(model, src, dst, taxonomy=taxonomy)
    finally:
        if src is not sys.stdin.buffer:
            src.close()
        if dst is not sys.stdout:
            dst.close()
    typer.echo(f"classified {done} posts, {errors} error rows (model {model.version})", err=True)


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="the shared data folder (../shared/data)", exists=True,
                                       file_okay=False)] = Path("../shared/data"),
    protocol: Annotated[list[str] | None, typer.Option("--protocol", "-p", help="run only these protocols "
                                                       "(isca-temporal, isca-cv, hatexplain-jewish, mhc-jewish)")] = None,
    record_in: Annotated[Path | None, typer.Option(help="also store the results in this model directory's card")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="also write the JSON to this file")] = None,
) -> None:
    """Run the fixed protocols (Vigil vs the reference TF-IDF + LR) and print precision, recall, F1, AUC as JSON."""
    from classifiers.evaluation import PROTOCOLS, run_protocols

    chosen = protocol or list(PROTOCOLS)
    unknown = set(chosen) - set(PROTOCOLS)
    if unknown:
        raise typer.BadParameter(f"unknown protocols {sorted(unknown)}; choose from {PROTOCOLS}")
    results = run_protocols(data, chosen)
    typer.echo(json.dumps(results, indent=2))
    if output is not None:
        output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if record_in is not None:
        from classifiers.artifacts import record_evaluation

        record_evaluation(record_in, results, "vigil evaluate " + " ".join(f"-p {p}" for p in chosen))


if __name__ == "__main__":
    app()
