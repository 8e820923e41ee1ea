"""`vigil ingest`: import a file, then send its new posts on to classification."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from monitor.cli.common import console, sessions
from monitor.config import Settings, get_settings

app = typer.Typer()


@app.command()
def ingest(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .jsonl or .csv file."),
    country: str = typer.Option(..., help="Country of rows that name none (ISO alpha-2)."),
    source: str = typer.Option(..., help="Source name to file the posts under."),
    classify: bool = typer.Option(True, help="Send new posts on to classification now (with --no-classify, a "
                                  "running beat classifies them about an hour after import: the stranded-post sweep)."),
) -> None:
    """Import a platform export or a researchers' data set; report stored, duplicate and rejected rows."""
    from monitor.imports import import_file
    from monitor.ingest import IngestOptions

    s = get_settings()
    opts = IngestOptions(author_key=s.author_key(), max_post_chars=s.max_post_chars,
                         batch_size=s.ingest_batch_size)
    started = time.perf_counter()
    try:
        with sessions().begin() as session:
            result = import_file(session, path, country=country, source_name=source, opts=opts)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    seconds = time.perf_counter() - started
    rows = result.stored + result.duplicates + result.rejected
    console.print(f"{path.name}: {result.stored} stored, {result.duplicates} duplicate, "
                  f"{result.rejected} rejected in {seconds:.2f} s ({rows / max(seconds, 1e-9):,.0f} rows/s).")
    if result.rejected or result.notices:
        notices = f" and {result.notices} notice(s), such as unknown fields ignored," if result.notices else ""
        console.print(f"Rejected rows{notices} are recorded with their line numbers in the ingest_errors table.")
    if classify and result.unclassified_post_ids:  # new ones, and any an earlier import stored but never sent
        classify_new(s, result.unclassified_post_ids)


def classify_new(settings: Settings, post_ids: list[int]) -> None:
    """Queue classification of stored posts; in the embedded mode, run the in-process worker until done."""
    from workers import tasks

    run_on_workers(settings, lambda: tasks.enqueue_classification(post_ids))
    console.print(f"{len(post_ids)} posts sent to classification.")


def run_on_workers(settings: Settings, send) -> None:
    """Call `send` (which queues tasks); embedded, also run an in-process worker until the pipeline settles."""
    if not settings.embedded:
        send()
        return
    from monitor.status import pipeline_status
    from workers import tasks
    from workers.app import app as celery_app
    from workers.embedded import embedded_worker, queued_messages, wait_for

    with embedded_worker(celery_app, settings):
        send()

        def settled() -> bool:
            with tasks.sessions()() as session:
                st = pipeline_status(session)
            return st.classified == st.posts and st.rollup_posts == st.posts and queued_messages(celery_app) == 0

        wait_for(settled, timeout_s=3600, interval_s=0.5)
