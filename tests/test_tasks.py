"""Tasks run again after their commit (a failed send retried, a lost worker redelivered) still send their
follow-ups. Celery runs each task eagerly with its real autoretry; the sessions are savepoints of the test's
transaction, so a task's commit is seen by its retry; a send fails as it does while the broker is away."""

from __future__ import annotations

import datetime as dt

import pytest
from kombu.exceptions import OperationalError as BrokerError
from pydantic import SecretStr
from sqlalchemy import func, select

from classifiers.taxonomy import load_taxonomy
from monitor import alerts, notify, polling
from monitor.config import Settings, use_settings
from monitor.models import Alert, Classification, Delivery, Post, Rollup, Subscriber
from monitor.sources.registry import add_source
from tests.factories import KEY, make_post, make_source
from tests.test_notify import _claim_all
from tests.test_polling import FEED

START = dt.date(2024, 1, 1)
SPIKE_DAY = START + dt.timedelta(days=28)


def _use(tmp_path, **kw) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=SecretStr(KEY.decode()), **kw)
    use_settings(settings)
    return settings


@pytest.fixture
def tasks(task_sessions, tmp_path):
    _use(tmp_path)
    yield task_sessions
    use_settings(None)


def _sends(monkeypatch, task, failures: int = 0) -> list:
    """The first argument of each `task.delay` call; the first `failures` calls fail like a broker away."""
    calls: list = []

    def delay(first, *args, **kwargs):
        calls.append(sorted(first) if isinstance(first, list) else first)
        if len(calls) <= failures:
            raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task, "delay", delay)
    return calls


def _feed_source(db_session, http_server):
    (http_server.root / "feed.xml").write_text(FEED, encoding="utf-8")
    return add_source(db_session, name="feed", kind="rss", locator=http_server.url("feed.xml"), country="AM")


def _post_ids(db_session, source_id: int) -> list[int]:
    return list(db_session.scalars(select(Post.id).where(Post.source_id == source_id).order_by(Post.id)))


def test_a_poll_whose_send_failed_sends_its_posts_on_the_retry(db_session, tasks, http_server, monkeypatch):
    source = _feed_source(db_session, http_server)
    calls = _sends(monkeypatch, tasks.classify_posts, failures=1)
    result = tasks.poll_source.apply(args=[source.id]).get()  # the send fails; Celery retries the task
    ids = _post_ids(db_session, source.id)
    assert len(ids) == 2
    assert calls == [ids, ids]  # the failed send, then the retry's
    assert result == {"stored": 0, "duplicates": 2, "rejected": 0, "sent": 2}  # stored once, by the first run
    db_session.refresh(source)
    assert source.etag and source.cursor  # remembered once the posts were sent on

    # The next poll is conditional: 304 Not Modified, nothing sent again.
    assert tasks.poll_source.apply(args=[source.id]).get() == {"stored": 0, "duplicates": 0, "rejected": 0,
                                                               "sent": 0}
    assert len(calls) == 2
    assert _post_ids(db_session, source.id) == ids


def test_a_poll_redelivered_after_a_lost_worker_sends_what_is_still_unclassified(db_session, tasks, http_server,
                                                                                monkeypatch):
    source = _feed_source(db_session, http_server)
    older = make_post(db_session, source, dt.date(2024, 2, 1)).id  # unclassified, not in this fetch
    # The first delivery of the message committed its posts; its worker was lost before it sent them on.
    with tasks.sessions().begin() as session:
        polling.poll_source(session, source.id, tasks.ingest_options(), polling.FetchOptions(5, 1_000_000))
    fetched = [i for i in _post_ids(db_session, source.id) if i != older]
    db_session.add(Classification(post_id=fetched[0], model_version="m", antisemitic=False, score=0.1,
                                  category="none", triggers=[]))  # e.g. a reclassify sweep got there first
    db_session.flush()
    calls = _sends(monkeypatch, tasks.classify_posts)
    result = tasks.poll_source.apply(args=[source.id]).get()  # the redelivered message
    assert calls == [fetched[1:]]
    assert result == {"stored": 0, "duplicates": 2, "rejected": 0, "sent": 1}
    assert len(_post_ids(db_session, source.id)) == 3


def _spike(db_session) -> Subscriber:
    """A country whose count jumps on SPIKE_DAY, and one subscriber of it."""
    for i, n in enumerate([5, 6, 5, 7, 6, 5, 6] * 4 + [30]):
        db_session.add(Rollup(country="AM", day=START + dt.timedelta(days=i), category="*", trigger="*",
                              posts=200, antisemitic=n))
    subscriber = Subscriber(email="ngo@example.org", countries=["AM"], min_severity="warning")
    db_session.add(subscriber)
    db_session.flush()
    return subscriber


def test_beat_sends_posts_whose_classification_was_lost_once_they_are_past_the_grace(db_session, tasks,
                                                                                    monkeypatch, tmp_path):
    _use(tmp_path, classify_batch_size=2)
    source = make_source(db_session, country="AM")
    now = dt.datetime.now(dt.timezone.utc)
    stranded = []
    for minutes in (180, 120, 90, 5):  # stored, and their classify task lost; the last may still be queued
        post = make_post(db_session, source, now.date(), f"post {minutes}")
        post.collected_at = now - dt.timedelta(minutes=minutes)
        stranded.append(post.id)
    db_session.flush()
    calls = _sends(monkeypatch, tasks.classify_posts)
    assert tasks.classify_stranded_posts.apply().get() == 3
    assert calls == [stranded[:2], stranded[2:3]]  # in batches of classify_batch_size; not the queued one

    for batch in calls:
        tasks.classify_posts.apply(args=[batch]).get()
    assert tasks.classify_stranded_posts.apply().get() == 0  # classified: nothing is sent twice
    assert db_session.scalar(select(func.count()).select_from(Classification)) == 3


def test_reclassify_sends_every_post_an_older_model_classified(db_session, tasks, monkeypatch, tmp_path):
    _use(tmp_path, classify_batch_size=2)
    source = make_source(db_session, country="AM")
    day = dt.date(2024, 3, 1)
    ids = [make_post(db_session, source, day, f"post {n}", classification={"model_version": "older"}).id
           for n in range(3)]
    calls = _sends(monkeypatch, tasks.classify_posts)
    assert tasks.reclassify_outdated.apply().get() == 3
    assert calls == [ids[:2], ids[2:]]


def test_a_worker_with_another_model_leaves_a_versioned_reclassification_to_one_that_has_it(db_session, tasks,
                                                                                            monkeypatch, tmp_path):
    from classifiers.artifacts import load_model

    _use(tmp_path, classify_batch_size=2)
    source = make_source(db_session, country="AM")
    ids = [make_post(db_session, source, dt.date(2024, 3, 1), f"post {n}", classification={"model_version": "older"}).id
           for n in range(3)]
    calls = _sends(monkeypatch, tasks.classify_posts)
    with pytest.raises(tasks.ModelVersionMismatch, match="not 2099.01.01-newer"):
        tasks.reclassify_outdated.apply(args=["2099.01.01-newer"]).get()  # retried, then given up, sending nothing
    assert calls == []
    assert tasks.reclassify_outdated.apply(args=[load_model().version]).get() == 3  # the loaded model's own version
    assert calls == [ids[:2], ids[2:]]


def test_classify_batches_mark_their_days_and_one_recompute_serves_them_all(db_session, tasks, monkeypatch):
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    day = dt.date(2024, 3, 1)
    first = [make_post(db_session, am, day, f"am {n}").id for n in range(2)] + [make_post(db_session, de, day).id]
    second = [make_post(db_session, am, day, "am 2").id]
    recomputes = _sends(monkeypatch, tasks.recompute_rollups)
    tasks.classify_posts.apply(args=[first]).get()
    tasks.classify_posts.apply(args=[second]).get()
    assert recomputes == ["AM", "DE", "AM"]  # a country per batch: the marks carry the days
    checks = _sends(monkeypatch, tasks.check_spikes)
    assert tasks.recompute_rollups.apply(args=["AM"]).get() == 1  # both batches' day, once
    assert tasks.recompute_rollups.apply(args=["AM"]).get() == 0  # the second message: nothing left
    assert checks == ["AM"]  # spikes are checked after the recompute that did the work
    counted = db_session.scalar(select(Rollup.posts).where(Rollup.country == "AM", Rollup.day == day,
                                                           Rollup.category == "*", Rollup.trigger == "*"))
    assert counted == 3
    assert tasks.recompute_rollups.apply(args=["AM", [day.isoformat()]]).get() == 1  # a message from before marks


def test_a_recompute_whose_spike_check_send_failed_sends_it_on_its_retry(db_session, tasks, monkeypatch):
    from monitor.rollups import mark_stale

    make_post(db_session, make_source(db_session, country="AM"), dt.date(2024, 3, 1), classification={})
    mark_stale(db_session, {"AM": {dt.date(2024, 3, 1)}})
    checks = _sends(monkeypatch, tasks.check_spikes, failures=1)
    tasks.recompute_rollups.apply(args=["AM", []]).get()
    assert checks == ["AM", "AM"]  # the retry took no marks (the first run committed) but still sends the check


def test_beat_sends_a_recompute_for_marks_whose_recompute_was_lost(db_session, tasks, monkeypatch):
    from monitor.models import StaleDay

    make_source(db_session, country="AM")
    make_source(db_session, country="DE")
    now = dt.datetime.now(dt.timezone.utc)
    db_session.add_all([StaleDay(country="AM", day=dt.date(2024, 3, 1), marked_at=now - dt.timedelta(hours=1)),
                        StaleDay(country="DE", day=dt.date(2024, 3, 1), marked_at=now)])  # DE's may be queued
    db_session.flush()
    recomputes = _sends(monkeypatch, tasks.recompute_rollups)
    checks = _sends(monkeypatch, tasks.check_spikes)
    assert tasks.check_all_spikes.apply().get() == 2
    assert recomputes == ["AM"] and sorted(checks) == ["AM", "DE"]


def test_workers_tag_with_the_triggers_file_the_settings_name(db_session, tasks, monkeypatch, tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: festivals\n    terms: {en: [festival*]}\n", encoding="utf-8")
    _use(tmp_path, triggers_file=path)
    post = make_post(db_session, make_source(db_session, country="AM"), dt.date(2024, 3, 1), "Jazz festivals in Gyumri")
    _sends(monkeypatch, tasks.recompute_rollups)
    tasks.classify_posts.apply(args=[[post.id]]).get()
    stored = db_session.execute(select(Classification.triggers, Classification.taxonomy_digest)).one()
    assert tuple(stored) == (["festivals"], load_taxonomy(path).digest)


def test_reclassify_sends_the_posts_an_earlier_trigger_taxonomy_tagged(db_session, tasks, monkeypatch):
    from classifiers.artifacts import load_model

    version, digest_now = load_model().version, load_taxonomy().digest  # the packaged ones: no file is set
    source = make_source(db_session, country="AM")
    day = dt.date(2024, 3, 1)
    tagged = {name: make_post(db_session, source, day, name,
                              classification={"model_version": version, "taxonomy_digest": digest}).id
              for name, digest in [("now", digest_now), ("before the edit", "0123456789abcdef"),
                                   ("before migration 0013", None)]}
    calls = _sends(monkeypatch, tasks.classify_posts)
    assert tasks.reclassify_outdated.apply().get() == 2
    assert calls == [[tagged["before the edit"], tagged["before migration 0013"]]]


def test_a_spike_check_whose_send_failed_delivers_the_alert_on_the_retry(db_session, tasks, monkeypatch):
    _spike(db_session)
    calls = _sends(monkeypatch, tasks.deliver_alert, failures=1)
    result = tasks.check_spikes.apply(args=["AM", SPIKE_DAY.isoformat()]).get()
    [alert_id] = db_session.scalars(select(Alert.id).where(Alert.country == "AM"))
    assert calls == [alert_id, alert_id]  # the failed send, then the retry's, though it changed nothing
    assert result == [alert_id]
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_lost_delivery_is_resent_by_beat_until_tried_never_by_rollup_checks(db_session, tasks, monkeypatch,
                                                                             smtp, tmp_path):
    port, inbox = smtp
    _spike(db_session)
    # The run that opened the alert committed, then its worker was lost before the send.
    with tasks.sessions().begin() as session:
        [alert_id] = alerts.check_spikes(session, "AM", SPIKE_DAY, alerts.spike_params(tasks.get_settings()))
    calls = _sends(monkeypatch, tasks.deliver_alert)
    day = SPIKE_DAY.isoformat()
    # A check sent after a rollup leaves delivery alone (one may be queued or under way) ...
    assert tasks.check_spikes.apply(args=["AM", day]).get() == []
    # ... the redelivered message too; beat's periodic check sends it on.
    assert tasks.check_spikes.apply(args=["AM", day], kwargs={"resend": True}).get() == [alert_id]
    assert calls == [alert_id]

    _use(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="vigil@test")
    assert tasks.deliver_alert.apply(args=[alert_id]).get() == {"sent": 1, "failed": 0, "pending": 0}
    assert tasks.check_spikes.apply(args=["AM", day], kwargs={"resend": True}).get() == []  # tried: not again
    assert calls == [alert_id]
    # Had a message been sent twice anyway, deliver_alert would still send the e-mail once.
    assert tasks.deliver_alert.apply(args=[alert_id]).get() == {"sent": 0, "failed": 0, "pending": 0}
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 1
    assert notify.undelivered_alerts(db_session, "AM", tasks.get_settings(), dt.datetime.now(dt.timezone.utc)) == []


def _subscribed_alert(db_session, tmp_path, port):
    """An open alert on AM, its one subscriber, and Settings that reach the test's SMTP server."""
    subscriber = _spike(db_session)
    settings = _use(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="vigil@test")
    [alert_id] = alerts.check_spikes(db_session, "AM", SPIKE_DAY, alerts.spike_params(settings))
    return alert_id, subscriber, settings


def test_overlapping_delivery_tasks_send_one_email(db_session, tasks, monkeypatch, smtp, tmp_path):
    port, inbox = smtp
    alert_id, subscriber, settings = _subscribed_alert(db_session, tmp_path, port)
    # Task A commits its claim and starts sending ...
    with tasks.sessions().begin() as session:
        round_a = _claim_all(session, alert_id, settings, dt.datetime.now(dt.timezone.utc))
    # ... beat's resend leaves a fresh claim to its round, and a second task (a redelivery) sends nothing.
    calls = _sends(monkeypatch, tasks.deliver_alert)
    assert tasks.check_spikes.apply(args=["AM", SPIKE_DAY.isoformat()], kwargs={"resend": True}).get() == []
    assert calls == []
    assert tasks.deliver_alert.apply(args=[alert_id]).get() == {"sent": 0, "failed": 0, "pending": 0}
    assert inbox.messages == []
    with tasks.sessions().begin() as session:  # task A ends its round
        notify.record_attempts(session, [(out, notify.send(settings, out)) for out in round_a], settings)
    assert tasks.deliver_alert.apply(args=[alert_id]).get() == {"sent": 0, "failed": 0, "pending": 0}
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]
    assert [(d.subscriber_id, d.attempt, d.status) for d in db_session.scalars(select(Delivery))] == [
        (subscriber.id, 1, "sent")]


def test_a_delivery_task_takes_over_a_stale_claim(db_session, tasks, smtp, tmp_path):
    port, inbox = smtp
    alert_id, subscriber, settings = _subscribed_alert(db_session, tmp_path, port)
    lost_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.notify_claim_timeout_s + 1)
    with tasks.sessions().begin() as session:  # a round whose worker was lost mid-send, long ago
        _claim_all(session, alert_id, settings, lost_at)
    assert tasks.deliver_alert.apply(args=[alert_id]).get() == {"sent": 1, "failed": 0, "pending": 0}
    assert [(d.attempt, d.status) for d in db_session.scalars(select(Delivery).order_by(Delivery.id))] == [
        (1, "failed"), (2, "sent")]
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]


def test_a_slow_round_does_not_send_what_another_round_claimed_first(db_session, tasks, smtp, tmp_path):
    port, inbox = smtp
    alert_id, subscriber, settings = _subscribed_alert(db_session, tmp_path, port)
    with tasks.sessions().begin() as session:  # round A lists what is pending, then is slow to get to it
        [planned] = notify.plan_deliveries(session, alert_id, settings, dt.datetime.now(dt.timezone.utc))
    assert tasks.deliver_alert.apply(args=[alert_id]).get()["sent"] == 1  # round B claims and sends it
    with tasks.sessions().begin() as session:
        assert notify.claim(session, planned, dt.datetime.now(dt.timezone.utc)) is None  # so A does not
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]


def test_the_weekly_report_task_waits_for_a_run_in_hand_and_takes_it_over_once_stale(db_session, tasks):
    """A redelivered weekly task finds its own run still `working` (its worker was lost a moment ago): it retries
    later instead of acking the run away for good, and takes the run over once it counts as stale."""
    from celery.exceptions import MaxRetriesExceededError

    from monitor.models import ReportRun

    run = ReportRun(scope="all", iso_week="2024-W08", status="working", started_at=dt.datetime.now(dt.timezone.utc))
    db_session.add(run)
    db_session.flush()
    with pytest.raises(MaxRetriesExceededError):  # eager retries come back at once, while the run is fresh
        tasks.render_weekly_report.apply(args=["2024-W08"]).get()
    run.started_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    db_session.flush()
    outcome = tasks.render_weekly_report.apply(args=["2024-W08"]).get()
    assert outcome["run_id"] == run.id and outcome["status"] == "success"
    assert tasks.render_weekly_report.apply(args=["2024-W08"]).get() == {"iso_week": "2024-W08", "skipped": True}
