"""Thin tasks: ids, dates and country codes in; open a session; call one monitor/classifiers function.

Each task owns its transaction and sends follow-up tasks only after it committed. Every task is
safe to run twice: the functions it calls select only the rows still left to do, or upsert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import islice

import structlog
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError as DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from classifiers.artifacts import load_model
from monitor import alerts, classification, notify, polling, reporting, rollups
from monitor.config import get_settings
from monitor.db import db_now, session_factory
from monitor.ingest import IngestOptions
from monitor.models import Source
from monitor.triggers import current_taxonomy
from workers.app import app

log = structlog.get_logger(__name__)

# Retry only what a retry can fix: a database or broker that is briefly away, or a deadlock.
TRANSIENT = (DatabaseError, BrokerError, RedisConnectionError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 600,
         "retry_jitter": True, "max_retries": 8, "acks_late": True, "reject_on_worker_lost": True}


def sessions() -> sessionmaker[Session]:
    return session_factory(get_settings().sqlalchemy_url)


def ingest_options() -> IngestOptions:
    s = get_settings()
    return IngestOptions(author_key=s.author_key(), max_post_chars=s.max_post_chars,
                         batch_size=s.ingest_batch_size)


def _bind(task, **values) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task.request.id, **values)


def enqueue_classification(post_ids: list[int]) -> int:
    """Send new post ids on in batches: one message per post would cap the pipeline near 1,000/s."""
    size = get_settings().classify_batch_size
    it, sent = iter(post_ids), 0
    while chunk := list(islice(it, size)):
        classify_posts.delay(chunk)
        sent += 1
    return sent


def enqueue_pages(page: Callable[[Session, int], list[int]]) -> int:
    """Send post ids on to classification page by page: `page(session, after_id)` gives the next ids in id
    order, or none when done. Returns how many were sent."""
    sent = after = 0
    while True:
        with sessions()() as session:
            ids = page(session, after)
        if not ids:
            return sent
        enqueue_classification(ids)
        sent, after = sent + len(ids), ids[-1]


@app.task(bind=True, **RETRY)
def poll_due_sources(self) -> int:
    """Beat: lease the due sources and send one poll per source."""
    _bind(self)
    with sessions().begin() as session:
        ids = polling.claim_due_sources(session, dt.datetime.now(dt.timezone.utc))
    for source_id in ids:
        poll_source.delay(source_id)
    return len(ids)


@app.task(bind=True, **RETRY)
def poll_source(self, source_id: int) -> dict:
    """Fetch one source, store its new posts, send the fetched posts still unclassified on to
    classification, and only then remember the fetch state.

    A run that stored posts but failed to send them (or was lost after its commit) leaves the fetch state
    as it was, so its retry, its redelivery or the next poll fetches the same posts and sends them on.
    """
    _bind(self, source_id=source_id)
    s = get_settings()
    with sessions().begin() as session:
        poll = polling.poll_source(session, source_id, ingest_options(),
                                   polling.FetchOptions(s.http_timeout_s, s.http_max_bytes))
    if poll is None:
        return {"skipped": True}
    result = poll.ingest
    enqueue_classification(result.unclassified_post_ids)
    if poll.state is not None:
        with sessions().begin() as session:
            polling.remember_state(session, source_id, poll)
    return {"stored": result.stored, "duplicates": result.duplicates, "rejected": result.rejected,
            "sent": len(result.unclassified_post_ids)}


@app.task(bind=True, **RETRY)
def classify_posts(self, post_ids: list[int]) -> int:
    """Classify a batch of stored posts with the worker's loaded model and mark their days' rollups stale, in one
    transaction; then send a recompute per country (one recompute serves every batch that marked the day)."""
    _bind(self, posts=len(post_ids))
    s = get_settings()
    model, taxonomy = load_model(s.model_dir), current_taxonomy(s)
    with sessions().begin() as session:
        touched = classification.classify_posts(session, post_ids, model, taxonomy)
        rollups.mark_stale(session, touched)
    for country in sorted(touched):
        recompute_rollups.delay(country, [])  # the marks carry the days; [] is for workers of the last release
    return sum(len(d) for d in touched.values())


class ModelVersionMismatch(RuntimeError):
    """This worker's model is not the version a reclassification asked for."""


@app.task(bind=True, **RETRY)
def reclassify_outdated(self, model_version: str | None = None) -> int:
    """Send every post not yet classified by this worker's model, or tagged by another version of its trigger
    taxonomy (an edited triggers.yaml), to classification, in batches; their rollups follow.

    With `model_version` (`vigil reclassify --model-version`), a worker whose model is another version sends
    nothing and retries the task, backing off, so that a worker with that model takes it (a rolling deploy);
    after RETRY's max_retries it fails with ModelVersionMismatch in the log."""
    _bind(self, model_version=model_version)
    s = get_settings()
    version, digest = load_model(s.model_dir).version, current_taxonomy(s).digest
    if model_version and model_version != version:
        log.warning("reclassify_model_mismatch", loaded=version)
        raise self.retry(exc=ModelVersionMismatch(f"this worker's model is {version}, not {model_version}"),
                         countdown=min(600, 30 * 2 ** self.request.retries))
    return enqueue_pages(lambda session, after: classification.posts_needing_classification(
        session, version, digest, after_id=after))


@app.task(bind=True, **RETRY)
def classify_stranded_posts(self) -> int:
    """Beat: send recent posts that no classification reached (their task was lost, or gave up while the
    database was away) on to classification, in batches; their rollups and spike checks follow.

    The backstop, an hour or more late. A poll whose own send failed re-sends its posts at once, on its retry
    (see poll_source); this sweep catches what happens after a send: a classify task lost or given up.
    """
    _bind(self)
    s = get_settings()
    now = dt.datetime.now(dt.timezone.utc)
    window = {"collected_after": now - dt.timedelta(hours=s.sweep_window_hours),
              "collected_before": now - dt.timedelta(seconds=s.sweep_grace_s)}
    sent = enqueue_pages(lambda session, after: classification.stranded_post_ids(session, **window, after_id=after))
    if sent:
        log.warning("stranded_posts_sent", posts=sent)
    return sent


@app.task(bind=True, **RETRY)
def recompute_rollups(self, country: str, days: list[str] | None = None) -> int:
    """Recompute the rollups of a country's stale days (and of `days`, ISO dates: messages sent before stale
    marks existed carry them), then look for spikes; nothing when another recompute took the marks first."""
    _bind(self, country=country)
    with sessions().begin() as session:
        done = rollups.recompute_stale(session, country, [dt.date.fromisoformat(d) for d in days or ()])
    if done or self.request.retries:  # a retry may follow a committed recompute whose send of the check failed
        check_spikes.delay(country)
    return len(done)


@app.task(bind=True, **RETRY)
def check_spikes(self, country: str, until: str | None = None, resend: bool = False) -> list[int]:
    """Open or update spike and no-data alerts for a country up to `until` (default today, UTC);
    send the opened, reopened and escalated ones on to delivery after commit.

    A retry, and beat's periodic check (`resend`), also send on the country's alerts whose delivery no
    round has in hand (`notify.undelivered_alerts`): an earlier run committed them, then its send failed
    or its worker was lost; a round lost its worker; a delivery retry was lost.
    The checks sent after each rollup do not: during a burst they would queue a delivery round every few
    seconds for alerts whose delivery is still queued or under way (claims keep those rounds from sending
    twice, but they are wasted work).
    """
    _bind(self, country=country)
    s = get_settings()
    params = alerts.spike_params(s)
    day = dt.date.fromisoformat(until) if until else dt.datetime.now(dt.timezone.utc).date()
    with sessions().begin() as session:
        changed = alerts.check_spikes(session, country, day, params)
        changed += alerts.check_gaps(session, country, params=params)
        if resend or self.request.retries:  # against the clock the delivery claims were stamped with
            lost = notify.undelivered_alerts(session, country, s, db_now(session))
            changed += [i for i in lost if i not in changed]
    for alert_id in changed:
        deliver_alert.delay(alert_id)
    return changed


@app.task(bind=True, **RETRY)
def deliver_alert(self, alert_id: int) -> dict:
    """One delivery round for an alert: claim what is pending and commit, send only what this round
    claimed with no transaction open, record each outcome; retry later (exponential backoff) while
    something is still pending.

    Each attempt is claimed, and the claim committed, just before its send, so an overlapping round (an
    escalation, a redelivery, beat's resend) sends nothing that this one claimed. What another round has
    claimed is left to it.
    """
    _bind(self, alert_id=alert_id)
    s = get_settings()
    with sessions().begin() as session:
        planned = notify.plan_deliveries(session, alert_id, s, db_now(session))  # claims use the DB's clock
    summary = {"sent": 0, "failed": 0}
    for out in planned:
        with sessions().begin() as session:  # committed before the send, so other rounds see it
            mine = notify.claim(session, out, db_now(session))
        if mine is None:
            continue  # another round claimed it first, and sends it
        error = notify.send(s, mine)
        with sessions().begin() as session:  # each at once: a lost worker leaves at most one claim unrecorded
            counts = notify.record_attempts(session, [(mine, error)], s)
        summary = {key: summary[key] + counts[key] for key in summary}
    pending = 0
    if summary["failed"]:
        with sessions().begin() as session:
            pending = len(notify.pending_deliveries(session, alert_id, s))
    if pending:
        # Every round adds a failed row or a sent one, so the rounds end on their own.
        raise self.retry(countdown=notify.retry_countdown(s, self.request.retries),
                         max_retries=2 * s.notify_attempts + 1)
    return summary | {"pending": pending}


@app.task(bind=True, **RETRY)
def replay_spikes(self, country: str, start: str, end: str) -> list[int]:
    """Replay spike checks day by day over stored history, as beat would have run them."""
    _bind(self, country=country)
    with sessions().begin() as session:
        return alerts.replay_spikes(session, country, dt.date.fromisoformat(start),
                                    dt.date.fromisoformat(end), alerts.spike_params(get_settings()))


@app.task(bind=True, **RETRY)
def check_all_spikes(self) -> int:
    """Beat: one spike check per country that has sources, each also resending deliveries lost earlier; and a
    recompute for each country whose stale rollups no recompute took within a spike period (its send was lost)."""
    _bind(self)
    s = get_settings()
    with sessions().begin() as session:
        countries = list(session.scalars(select(Source.country).distinct()))
        lagging = rollups.stale_countries(  # marks carry the marking worker's clock
            session, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=s.beat_spike_seconds))
    for country in lagging:
        recompute_rollups.delay(country, [])
    for country in countries:
        check_spikes.delay(country, resend=True)
    return len(countries)


@app.task(bind=True, **RETRY)
def render_weekly_report(self, iso_week: str | None = None, countries: list[str] | None = None) -> dict:
    """Render the weekly report once per (scope, ISO week); a rerun of a finished run does nothing."""
    _bind(self, iso_week=iso_week)
    s = get_settings()
    week = iso_week or reporting.previous_iso_week(dt.datetime.now(dt.timezone.utc).date())
    with sessions().begin() as session:
        run_id, found = reporting.claim_run(session, week, countries, dt.timedelta(seconds=s.report_stale_s))
    if found == "working":
        # Another worker renders it, or this task's own earlier try lost its worker (a redelivery comes back at
        # once): look again when such a run counts as stale, and take it over then.
        raise self.retry(countdown=s.report_stale_s, max_retries=5)
    if run_id is None:
        return {"iso_week": week, "skipped": True}
    with sessions().begin() as session:
        run = reporting.render_run(session, run_id, s.reports_dir, countries)
        outcome = {"iso_week": week, "run_id": run.id, "path": run.path, "status": run.status}
    if outcome["status"] == "error":
        # The failure is recorded on the run, which a retry claims again.
        raise self.retry(countdown=300, max_retries=5)
    return outcome


@app.task(bind=True, **RETRY)
def send_due_reports(self) -> int:
    """Beat: tell the admin of runs still unsent an hour after they fell due; claim the subscribers'
    weekly reports that are due now and send each on."""
    _bind(self)
    s = get_settings()
    now = dt.datetime.now(dt.timezone.utc)
    with sessions().begin() as session:  # first, so a run claimed late by this very beat is not yet reported
        reporting.alert_overdue_runs(session, now, s)
    with sessions().begin() as session:
        claims = reporting.claim_due_reports(session, now, s)
    for claim in claims:
        deliver_report_run.delay(claim.run_id, claim.attempt)
    return len(claims)


@app.task(bind=True, **RETRY)
def deliver_report_run(self, run_id: int, attempt: int) -> str:
    """Render a claimed run and commit it as `sending`, then e-mail it and record the outcome.

    `sending` is committed before SMTP, so a redelivery after a lost worker finds the claim gone and
    sends nothing; the overdue check reports such a run to the admin instead.
    """
    _bind(self, run_id=run_id)
    s = get_settings()
    with sessions().begin() as session:
        prepared = reporting.prepare_run(session, reporting.Claim(run_id, attempt), s,
                                         dt.datetime.now(dt.timezone.utc))
    if prepared is None:
        return "skipped"
    try:
        notify.send_message(s, prepared.message, prepared.recipients)
    except Exception as exc:  # noqa: BLE001 - recorded on the run; beat claims it again after its backoff
        with sessions().begin() as session:
            reporting.record_failure(session, run_id, exc, s, dt.datetime.now(dt.timezone.utc))
        return "error"
    with sessions().begin() as session:
        reporting.record_sent(session, run_id, dt.datetime.now(dt.timezone.utc))
    return "success"
