"""`vigil reclassify`: run the current model over stored posts after a model change; rollups follow."""

from __future__ import annotations

import typer

from monitor.cli.common import console, sessions
from monitor.config import get_settings

app = typer.Typer()


@app.command()
def reclassify(
    model_version: str | None = typer.Option(
        None, help="The version the workers' model must have (refuses to run if it differs)."),
    page: int = typer.Option(5000, min=100, help="Post ids read per query."),
) -> None:
    """Send every post not yet classified by the workers' model to classification, in batches."""
    from classifiers.artifacts import load_model
    from monitor.classification import posts_needing_classification

    s = get_settings()
    version = load_model(s.model_dir).version
    if model_version and model_version != version:
        raise typer.BadParameter(f"the configured model is {version}, not {model_version}")
    ids: list[int] = []
    with sessions()() as session:
        while batch := posts_needing_classification(session, version, after_id=ids[-1] if ids else 0, limit=page):
            ids.extend(batch)
    if not ids:
        console.print(f"Every stored post is already classified by {version}.")
        return
    console.print(f"{len(ids):,} posts to classify with {version}.")
    from monitor.cli.ingest import classify_new

    classify_new(s, ids)
