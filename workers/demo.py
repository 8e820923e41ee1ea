"""`vigil demo`: the whole pipeline on SQLite with an in-process Celery worker and generated data."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from monitor.config import Settings, get_settings, use_settings
from monitor.demo import sample
from monitor.models import Alert, ReportRun
from monitor.sources.registry import add_source
from monitor.status import PipelineStatus, country_summary, pipeline_status


@dataclass
class DemoResult:
    status: PipelineStatus
    countries: list[tuple[str, int, int]]
    alerts: list[Alert]
    report_path: str | None
    report_week: str
    seconds: float


def demo_settings(base: Settings) -> Settings:
    """The demo's own embedded settings under <data dir>/demo, whatever the environment configures."""
    root = base.data_dir / "demo"
    return base.model_copy(update={"data_dir": root, "database_url": None, "broker_url": "memory://localhost/",
                                   "result_backend": "cache+memory://", "pseudonym_key": None})


def run_demo(console: Console, timeout_s: float = 600) -> DemoResult:
    """Generate the sample, run every stage through Celery tasks, and return what came out."""
    from alembic import command

    from migrations import alembic_config

    started = time.monotonic()
    settings = demo_settings(get_settings())
    use_settings(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db_file = settings.data_dir / "vigil.db"
    for stale in (db_file, db_file.with_name("vigil.db-wal"), db_file.with_name("vigil.db-shm")):
        stale.unlink(missing_ok=True)
    command.upgrade(alembic_config(settings.sqlalchemy_url), "head")

    from workers import tasks
    from workers.app import app
    from workers.embedded import embedded_worker, queued_messages, wait_for

    sources = sample.write_sample(settings.data_dir / "sample")
    with tasks.sessions().begin() as session:
        for src in sources:
            add_source(session, name=src.name, kind=src.kind, locator=src.locator, country=src.country,
                       language=src.language, poll_interval_s=3600)
    console.print(f"Sample written: {len(sources)} sources in {len(sample.COUNTRIES)} countries, "
                  f"{sample.START} to {sample.START + dt.timedelta(days=sample.DAYS - 1)} "
                  f"(fictional drone deal reported {sample.EVENT_DAY}).")

    with embedded_worker(app, settings):
        tasks.poll_due_sources.delay().get(timeout=120)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            polled = progress.add_task("Sources polled", total=len(sources))
            classified = progress.add_task("Posts classified", total=None)
            rolled = progress.add_task("Posts rolled up", total=None)

            def settled() -> bool:
                with tasks.sessions()() as session:
                    st = pipeline_status(session)
                progress.update(polled, completed=st.sources - st.sources_unpolled)
                progress.update(classified, total=st.posts or None, completed=st.classified)
                progress.update(rolled, total=st.posts or None, completed=st.rollup_posts)
                return st.settled and queued_messages(app) == 0

            if not wait_for(settled, timeout_s, interval_s=0.5):
                raise TimeoutError("the pipeline did not settle; see the log above")
        end = sample.START + dt.timedelta(days=sample.DAYS - 1)
        console.print("Replaying the daily spike check over the sample period…")
        for country in sample.COUNTRIES:
            tasks.replay_spikes.delay(country, sample.START.isoformat(), end.isoformat()).get(timeout=120)
        tasks.render_weekly_report.delay(sample.REPORT_WEEK).get(timeout=300)

    with tasks.sessions()() as session:
        status = pipeline_status(session)
        alerts = list(session.scalars(select(Alert).order_by(Alert.started_on, Alert.country)))
        run = session.scalar(select(ReportRun).where(ReportRun.iso_week == sample.REPORT_WEEK))
        countries = country_summary(session)
        session.expunge_all()
    return DemoResult(status, countries, alerts, run.path if run else None, sample.REPORT_WEEK,
                      time.monotonic() - started)
