import json

import pytest
import structlog

from monitor.logs import configure_logging

SECRET = "a private post text that must stay out of the logs"


def _fail_with_a_local() -> None:
    text = SECRET  # noqa: F841 - a local variable, as a task's frame holds post texts
    raise ValueError("render failed")


@pytest.mark.parametrize("as_json", [False, True])
def test_tracebacks_never_show_local_variables(as_json, capsys):
    configure_logging("INFO", json=as_json)
    try:
        _fail_with_a_local()
    except ValueError:
        structlog.get_logger("t").exception("report_render_failed", run_id=7)
    err = capsys.readouterr().err
    assert "ValueError: render failed" in err and "report_render_failed" in err
    assert SECRET not in err
    if as_json:
        assert json.loads(err.strip().splitlines()[-1])["run_id"] == 7


def test_workers_and_beat_configure_logging_when_they_start(monkeypatch):
    from celery.signals import beat_init, celeryd_init

    import workers.app

    calls = []
    monkeypatch.setattr(workers.app, "configure_logging", lambda *a: calls.append(a))
    celeryd_init.send(sender="worker@test", instance=None, conf=None, options={})
    beat_init.send(sender=None)
    assert len(calls) == 2
