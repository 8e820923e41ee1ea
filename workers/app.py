"""The Celery app, configured from Settings; the whole beat timetable is in one dict."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, celeryd_init
from kombu import Connection

from monitor.config import Settings, get_settings
from monitor.logs import configure_logging

QUEUE = "vigil"  # every task's queue (the workers consume it with -Q vigil)


def queue_length(connection: Connection, queue: str = QUEUE) -> int:
    """Messages waiting in `queue` on the broker `connection` reaches; 0 for a queue no worker has declared yet
    (nothing was ever sent to it)."""
    try:
        return int(connection.default_channel.queue_declare(queue=queue, passive=True).message_count)
    except connection.channel_errors:  # the transport's NOT_FOUND for an undeclared queue
        return 0


def beat_schedule(settings: Settings) -> dict:
    """Beat only schedules; every task it sends is safe to run twice."""
    return {
        "poll-due-sources": {"task": "workers.tasks.poll_due_sources",
                             "schedule": settings.beat_poll_seconds},
        "check-spikes": {"task": "workers.tasks.check_all_spikes",
                         "schedule": settings.beat_spike_seconds},
        "classify-stranded-posts": {"task": "workers.tasks.classify_stranded_posts",
                                    "schedule": settings.beat_sweep_seconds},
        "weekly-report": {"task": "workers.tasks.render_weekly_report",
                          "schedule": crontab(minute=0, hour=5, day_of_week="mon")},
        "send-due-reports": {"task": "workers.tasks.send_due_reports",
                             "schedule": settings.beat_report_seconds},
    }


def create_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    celery = Celery("vigil", include=["workers.tasks"])
    celery.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        # A task that outlives the visibility timeout is redelivered; ours are idempotent, but keep
        # it above the longest task so that redelivery means a lost worker, not a slow one.
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings),
    )
    return celery


app = create_app()


@celeryd_init.connect
@beat_init.connect
def _configure_logging(**_kwargs) -> None:
    """Workers and beat log as the CLI does (VIGIL_LOG_LEVEL, VIGIL_LOG_JSON), with plain tracebacks."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
