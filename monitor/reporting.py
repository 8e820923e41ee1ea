"""Report runs: claimed once per (scope, ISO week), rendered to files, e-mailed, recorded with a checksum.

A subscriber's run moves working -> sending -> success. `working` is claimed by the unique key (or
by a conditional UPDATE of a failed or stale run), so two beats or a retry never render it twice;
`sending` is committed before SMTP is spoken, so a worker lost mid-send leaves a run that is reported
to the admin, never silently sent again. `error` runs are claimed again after a doubling backoff
until `report_attempts` is reached. Each step is its own transaction, owned by the task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.db import as_utc, insert_for
from monitor.models import ReportRun, Subscriber
from monitor.reports import render_all, write_report
from monitor.reports.mail import report_message
from monitor.reports.schedule import due_reports

log = structlog.get_logger(__name__)


def iso_week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_iso_week(today: dt.date) -> str:
    """The last complete ISO week before `today`."""
    return iso_week_of(today - dt.timedelta(days=7))


def scope_of(countries: list[str] | None) -> str:
    return "all" if not countries else "countries:" + covered(countries)


def covered(countries: list[str] | None) -> str | None:
    """`ReportRun.countries` for a report of these countries (None: all of them)."""
    return ",".join(sorted({c.upper() for c in countries})) if countries else None


def claim_run(session: Session, iso_week: str, countries: list[str] | None,
              stale_after: dt.timedelta, now: dt.datetime | None = None) -> tuple[int | None, str | None]:
    """Claim the run for (scope, week) by its unique key: (its id, None) when claimed, else (None, the status
    of the run that another worker has in hand, `working`, or that is done).

    A run left in `error` is taken over again, so a retry after a failure renders it; so is one still `working`
    after `stale_after` (its worker was lost mid-render, and the redelivered task would otherwise skip it).
    """
    scope = scope_of(countries)
    now = now or dt.datetime.now(dt.timezone.utc)
    stmt = insert_for(session, ReportRun.__table__).values(
        scope=scope, iso_week=iso_week, status="working", started_at=now, countries=covered(countries)
    ).on_conflict_do_nothing(index_elements=["scope", "iso_week"]).returning(ReportRun.id)
    new_id = session.execute(stmt).scalar()
    if new_id is None:
        retaken = _retake(session, scope, iso_week, now, now - stale_after, ReportRun.status == "error")
        new_id = retaken.id if retaken else None
    if new_id is not None:
        return new_id, None
    return None, session.scalar(select(ReportRun.status).where(ReportRun.scope == scope,
                                                               ReportRun.iso_week == iso_week))


def _retake(session: Session, scope: str, iso_week: str, now: dt.datetime, stale: dt.datetime, failed_ready):
    """Take the run of (scope, week) over in one conditional UPDATE, if it failed and may be tried again
    (`failed_ready`, a clause) or is still `working` since before `stale` (its worker was lost); (id, attempts)
    of the run taken, else None. Two claimers never both get it: the UPDATE locks the row and rechecks."""
    return session.execute(
        update(ReportRun)
        .where(ReportRun.scope == scope, ReportRun.iso_week == iso_week,
               or_(failed_ready, and_(ReportRun.status == "working", ReportRun.started_at < stale)))
        .values(status="working", started_at=now, error=None, next_attempt_at=None,
                attempts=ReportRun.attempts + 1)
        .returning(ReportRun.id, ReportRun.attempts)
        .execution_options(synchronize_session="fetch")
    ).first()


def render_run(session: Session, run_id: int, out_dir: Path, countries: list[str] | None) -> ReportRun:
    """Render a claimed run's HTML report and record where it is and its checksum."""
    run = session.get(ReportRun, run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"vigil-report-{run.iso_week}-{run.scope.replace(':', '-').replace(',', '-')}.html"
    try:
        write_report(session, run.iso_week, countries, path)
    except Exception as exc:  # recorded on the run; the task's retry takes it over
        run.status, run.error = "error", f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = dt.datetime.now(dt.timezone.utc)
        log.exception("report_failed", run_id=run.id)
        return run
    run.status, run.path = "success", str(path)
    run.checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    run.finished_at = dt.datetime.now(dt.timezone.utc)
    log.info("report_rendered", run_id=run.id, iso_week=run.iso_week, path=str(path))
    return run


# --- subscribers' weekly reports ---------------------------------------------------------------------

SUBSCRIBER_SCOPE = "subscriber:"
MESSAGE_FILE = "message.eml"


def subscriber_scope(subscriber_id: int) -> str:
    return f"{SUBSCRIBER_SCOPE}{subscriber_id}"


@dataclass(frozen=True)
class Claim:
    """A run claimed for one attempt; the attempt number is the token the worker must still hold."""

    run_id: int
    attempt: int


def claim_subscriber_run(
    session: Session, subscriber_id: int, iso_week: str, due: dt.datetime, now: dt.datetime, settings: Settings
) -> Claim | None:
    """Claim (subscriber, week): a new run, a failed one whose backoff has passed, or a stale `working` one."""
    scope = subscriber_scope(subscriber_id)
    inserted = session.execute(
        insert_for(session, ReportRun.__table__)
        .values(scope=scope, iso_week=iso_week, status="working", started_at=now, due_at=due, attempts=1,
                sends=0)
        .on_conflict_do_nothing(index_elements=["scope", "iso_week"])
        .returning(ReportRun.id)
    ).scalar()
    if inserted is not None:
        return Claim(inserted, 1)
    retaken = _retake(session, scope, iso_week, now, now - dt.timedelta(seconds=settings.report_stale_s),
                      and_(ReportRun.status == "error", ReportRun.next_attempt_at.is_not(None),
                           ReportRun.next_attempt_at <= now))
    return Claim(retaken.id, retaken.attempts) if retaken else None


def _claimable(run: tuple | None, now: dt.datetime, settings: Settings) -> bool:
    """Whether (status, started_at, next_attempt_at) of an existing run could be claimed; None: no run yet."""
    if run is None:
        return True
    status, started_at, next_attempt_at = run
    if status == "error":
        return next_attempt_at is not None and as_utc(next_attempt_at) <= now
    return status == "working" and as_utc(started_at) < now - dt.timedelta(seconds=settings.report_stale_s)


def claim_due_reports(session: Session, now: dt.datetime, settings: Settings) -> list[Claim]:
    """Claim the runs of every active subscriber whose report is due by `now` and not sent or in hand."""
    subscribers = list(session.scalars(select(Subscriber).where(Subscriber.active.is_(True))
                                       .order_by(Subscriber.id)))
    due = {(sub.id, iso_week): moment for sub in subscribers
           for iso_week, moment in due_reports(sub.report_weekday, sub.report_hour, sub.timezone, now,
                                               sub.created_at)}
    # One read first: most beats find every due run done, and need not write (nor burn ids) to learn it.
    weeks = {iso_week for _, iso_week in due}
    existing = {(row.scope, row.iso_week): (row.status, row.started_at, row.next_attempt_at)
                for row in session.execute(
                    select(ReportRun.scope, ReportRun.iso_week, ReportRun.status, ReportRun.started_at,
                           ReportRun.next_attempt_at)
                    .where(ReportRun.scope.startswith(SUBSCRIBER_SCOPE), ReportRun.iso_week.in_(weeks)))}
    claims = []
    for (sub_id, iso_week), moment in due.items():
        if not _claimable(existing.get((subscriber_scope(sub_id), iso_week)), now, settings):
            continue
        claim = claim_subscriber_run(session, sub_id, iso_week, moment, now, settings)
        if claim is not None:
            log.info("report_claimed", run_id=claim.run_id, subscriber_id=sub_id, iso_week=iso_week,
                     attempt=claim.attempt)
            claims.append(claim)
    return claims


@dataclass(frozen=True)
class PreparedRun:
    """A rendered run in `sending` state: the e-mail to hand to SMTP."""

    run_id: int
    message: EmailMessage
    recipients: list[str]


def _write_files(out_dir: Path, rendered, message: EmailMessage) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = f"vigil-weekly-{rendered.report.iso_week}"
    (out_dir / f"{base}.html").write_text(rendered.html, encoding="utf-8")
    (out_dir / f"{base}.csv").write_text(rendered.csv, encoding="utf-8")
    (out_dir / MESSAGE_FILE).write_bytes(message.as_bytes())
    pdf = out_dir / f"{base}.pdf"
    pdf.write_bytes(rendered.pdf)
    return pdf


def prepare_run(session: Session, claim: Claim, settings: Settings, now: dt.datetime) -> PreparedRun | None:
    """Render a claimed run to files and move it to `sending`; None when the claim was lost or it failed."""
    run = session.scalar(select(ReportRun).where(ReportRun.id == claim.run_id, ReportRun.status == "working",
                                                 ReportRun.attempts == claim.attempt)
                         .with_for_update().execution_options(populate_existing=True))
    if run is None:
        log.info("report_claim_lost", run_id=claim.run_id, attempt=claim.attempt)
        return None
    sub = session.get(Subscriber, int(run.scope.removeprefix(SUBSCRIBER_SCOPE)))
    if sub is None or not sub.active or not sub.countries:  # no countries is not "all countries"
        run.status, run.finished_at = "cancelled", now
        return None
    try:
        rendered = render_all(session, run.iso_week, sub.countries, settings.model_dir)
        message = report_message(rendered.report, rendered.charts, rendered.pdf, rendered.csv,
                                 settings.smtp_from, [sub.email])
        pdf = _write_files(settings.reports_dir / "runs" / f"{run.id}-{run.iso_week}", rendered, message)
    except SQLAlchemyError:
        raise  # the task's retry handles a database that is away
    except Exception as exc:  # noqa: BLE001 - recorded on the run, which is claimed again after its backoff
        log.exception("report_render_failed", run_id=run.id)
        _fail(run, exc, settings, now)
        return None
    run.status, run.path, run.recipients = "sending", str(pdf), [sub.email]
    run.countries = covered(sub.countries)  # who may see the file: what it holds, whatever the subscriber's now
    run.checksum = hashlib.sha256(rendered.pdf).hexdigest()
    return PreparedRun(run.id, message, [sub.email])


def _fail(run: ReportRun, exc: BaseException | str, settings: Settings, now: dt.datetime) -> None:
    run.status = "error"
    run.error = (exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}")[:2000]
    run.finished_at = now
    if run.attempts < settings.report_attempts:
        run.next_attempt_at = now + dt.timedelta(seconds=settings.report_backoff_s * 2 ** (run.attempts - 1))
    else:
        run.next_attempt_at = None  # given up; the overdue check has told or will tell the admin


def record_sent(session: Session, run_id: int, now: dt.datetime) -> None:
    """The e-mail of a `sending` run was accepted by SMTP."""
    run = session.get(ReportRun, run_id)
    run.status, run.finished_at, run.error = "success", now, None
    run.sends = (run.sends or 0) + 1
    log.info("report_sent", run_id=run_id, iso_week=run.iso_week)


def record_failure(session: Session, run_id: int, exc: BaseException | str, settings: Settings,
                   now: dt.datetime) -> None:
    """Sending failed: the run becomes `error`, to be claimed again after its backoff."""
    run = session.get(ReportRun, run_id)
    _fail(run, exc, settings, now)
    log.warning("report_send_failed", run_id=run_id, attempt=run.attempts, error=run.error[:200])


def alert_overdue_runs(session: Session, now: dt.datetime, settings: Settings, send=None) -> list[int]:
    """Tell the admin once about each subscriber run not sent `report_overdue_s` after it was due."""
    from monitor import notify
    from monitor.alerts import AlertText

    send = send or notify.send_email
    cutoff = now - dt.timedelta(seconds=settings.report_overdue_s)
    runs = list(session.scalars(
        select(ReportRun)
        .where(ReportRun.scope.startswith(SUBSCRIBER_SCOPE), ReportRun.status.not_in(("success", "cancelled")),
               ReportRun.admin_alerted_at.is_(None), ReportRun.due_at <= cutoff)
        .order_by(ReportRun.id)
        .with_for_update(skip_locked=True)
    ))
    told = []
    for run in runs:
        note = AlertText(
            f"[Vigil admin] weekly report {run.iso_week} for {run.scope} is overdue",
            f"Report run #{run.id} ({run.scope}, {run.iso_week}) was due at {as_utc(run.due_at):%Y-%m-%d %H:%M} UTC "
            f"and is still {run.status!r} after {run.attempts} attempt(s). Last error: {run.error or 'none'}.\n"
            f"A run left in 'sending' may or may not have reached the subscriber: check the mail log, then "
            f"`vigil report resend {run.id}` if it did not.",
            {"run_id": run.id, "scope": run.scope, "iso_week": run.iso_week, "status": run.status})
        if not settings.admin_email:
            log.error("report_overdue", run_id=run.id, scope=run.scope, iso_week=run.iso_week, status=run.status)
        else:
            try:
                send(settings, settings.admin_email, note)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("report_overdue_alert_failed", run_id=run.id, error=type(exc).__name__)
                continue
        run.admin_alerted_at = now
        told.append(run.id)
    return told


def resend_run(session: Session, run_id: int, settings: Settings, to: list[str] | None = None,
               send=None) -> list[str]:
    """Send a delivered run's stored e-mail again (new Date and Message-ID); return the recipients."""
    from monitor import notify

    run = session.get(ReportRun, run_id)
    if run is None:
        raise LookupError(f"no report run #{run_id}")
    pdf = Path(run.path) if run.path else None
    message_file = pdf.with_name(MESSAGE_FILE) if pdf else None
    if message_file is None or not message_file.is_file():
        raise LookupError(f"report run #{run_id} has no stored e-mail (only subscriber runs are e-mailed)")
    if hashlib.sha256(pdf.read_bytes()).hexdigest() != run.checksum:
        raise ValueError(f"{pdf} does not match the checksum recorded for run #{run_id}; refusing to resend it")
    recipients = list(to or run.recipients or [])
    if not recipients:
        raise ValueError(f"report run #{run_id} has no recipients; give --to")
    message = BytesParser(policy=policy.default).parsebytes(message_file.read_bytes())
    for header, value in (("Date", format_datetime(dt.datetime.now(dt.timezone.utc))),
                          ("Message-ID", make_msgid(domain="vigil.report")), ("To", ", ".join(recipients))):
        del message[header]
        message[header] = value
    (send or notify.send_message)(settings, message, recipients)
    run.sends = (run.sends or 0) + 1
    log.info("report_resent", run_id=run_id, recipients=len(recipients))
    return recipients
