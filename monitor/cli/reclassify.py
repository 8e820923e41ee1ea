"""`vigil reclassify`: run the current model and trigger taxonomy over stored posts after either changed; rollups
follow."""

from __future__ import annotations

import typer

from monitor.cli.common import console, sessions
from monitor.config import get_settings

app = typer.Typer()


@app.command()
def reclassify(
    model_version: str | None = typer.Option(
        None, help="The version the workers' model must have: refused here if the configured model differs, and a "
        "worker with another model leaves the task to one that has it."),
) -> None:
    """Send every post not yet classified by the workers' model, or tagged by an earlier version of
    triggers.yaml, to classification, in batches."""
    from classifiers.artifacts import load_model
    from monitor.classification import posts_needing_classification, reclassification_backlog
    from monitor.triggers import current_taxonomy

    s = get_settings()
    version, digest = load_model(s.model_dir).version, current_taxonomy(s).digest
    if model_version and model_version != version:
        raise typer.BadParameter(f"the configured model is {version}, not {model_version}")
    current = f"model {version} and trigger taxonomy {digest}"
    with sessions()() as session:
        backlog = reclassification_backlog(session, version, digest)
    if not sum(backlog.values()):
        console.print(f"Every stored post is already classified by {current}.")
        return
    console.print("To classify: " + ", ".join(f"{n:,} {why}" for why, n in backlog.items() if n) + ".")
    from monitor.cli.ingest import run_on_workers
    from workers import tasks

    # Without a version the message carries no argument, so workers of the last release still accept it.
    run_on_workers(s, lambda: tasks.reclassify_outdated.delay(*([model_version] if model_version else [])))
    if not s.embedded:
        console.print(f"Sent the posts not yet classified by {current} to the workers.")
        return
    with sessions()() as session:
        done = not posts_needing_classification(session, version, digest, limit=1)
    console.print(f"Every stored post is now classified by {current}." if done
                  else "Some posts are still waiting for classification; see the worker log.")
