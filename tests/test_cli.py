"""The `vigil` command on the embedded default (SQLite in a temporary data dir)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import Settings, use_settings

runner = CliRunner()


@pytest.fixture
def embedded(tmp_path):
    use_settings(Settings(data_dir=tmp_path / "data"))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield tmp_path
    use_settings(None)


def test_sources_add_list_disable(embedded):
    ok = runner.invoke(app, ["sources", "add", "--name", "am-news", "--kind", "rss",
                             "--locator", "https://news.example/am.xml", "--country", "am"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["sources", "add", "--name", "x", "--kind", "rss", "--locator", "u", "--country", "XX"])
    assert bad.exit_code != 0 and "country code" in bad.output
    listed = runner.invoke(app, ["sources", "list"], env={"COLUMNS": "200"})
    assert "am-news" in listed.output and "AM" in listed.output and "yes" in listed.output
    assert runner.invoke(app, ["sources", "disable", "am-news"]).exit_code == 0
    assert "no" in runner.invoke(app, ["sources", "list"], env={"COLUMNS": "200"}).output
    assert runner.invoke(app, ["sources", "disable", "nope"]).exit_code != 0


def test_ingest_reports_stored_duplicate_and_rejected(embedded):
    data = embedded / "export.jsonl"
    rows = [json.dumps({"id": f"r{i}", "text": f"Concert number {i} in Gyumri tonight",
                        "published_at": "2024-02-20T10:00:00Z", "lang": "en"}) for i in range(5)]
    rows.insert(2, "{not json")
    rows.append(json.dumps({"id": "r9", "text": ""}))
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["ingest", str(data), "--country", "AM", "--source", "export", "--no-classify"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "5 stored, 0 duplicate, 2 rejected" in first.output
    second = runner.invoke(app, args)
    assert "0 stored, 5 duplicate, 2 rejected" in second.output


def test_reclassify_runs_the_model_over_stored_posts_once(embedded):
    from sqlalchemy import func, select

    from classifiers.artifacts import load_model
    from monitor.cli.common import sessions
    from monitor.models import Classification, Rollup

    data = embedded / "export.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"r{i}", "text": f"Tram line {i} reopens in Vanadzor",
                                          "published_at": "2024-02-20T10:00:00Z", "lang": "en"})
                              for i in range(4)) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(data), "--country", "AM", "--source", "s", "--no-classify"]).exit_code == 0
    wrong = runner.invoke(app, ["reclassify", "--model-version", "not-this-one"])
    assert wrong.exit_code != 0
    version = load_model().version
    first = runner.invoke(app, ["reclassify", "--model-version", version])
    assert first.exit_code == 0, first.output
    assert "To classify: 4 unclassified." in first.output and "now classified by" in first.output
    with sessions()() as session:
        assert set(session.scalars(select(Classification.model_version))) == {version}
        assert session.scalar(select(func.sum(Rollup.posts)).where(Rollup.category == "*", Rollup.trigger == "*")) == 4
    again = runner.invoke(app, ["reclassify"])
    assert "already classified" in again.output


def test_a_repeated_import_sends_the_posts_an_earlier_one_left_unclassified(embedded):
    from sqlalchemy import func, select

    from monitor.cli.common import sessions
    from monitor.models import Classification

    data = embedded / "export.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"r{i}", "text": f"Bus route {i} extended to Abovyan",
                                          "published_at": "2024-02-20T10:00:00Z", "lang": "en"})
                              for i in range(3)) + "\n", encoding="utf-8")
    args = ["ingest", str(data), "--country", "AM", "--source", "s"]
    assert runner.invoke(app, [*args, "--no-classify"]).exit_code == 0  # stored, never sent on
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 stored, 3 duplicate" in again.output and "3 posts sent to classification" in again.output
    with sessions()() as session:
        assert session.scalar(select(func.count()).select_from(Classification)) == 3
    third = runner.invoke(app, args)
    assert "sent to classification" not in third.output  # all classified now: nothing to send


def test_triggers_check_shows_what_an_edit_would_tag_and_refuses_a_broken_file(embedded):
    from classifiers.taxonomy import PACKAGED

    data = embedded / "export.jsonl"
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    texts = ["Jazz festival in Gyumri tonight", "The festival of lights in Yerevan", "Drones hit Stepanakert"]
    data.write_text("\n".join(json.dumps({"id": f"t{i}", "text": t, "published_at": today, "lang": "en"})
                              for i, t in enumerate(texts)) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(data), "--country", "AM", "--source", "s", "--no-classify"]).exit_code == 0
    edited = embedded / "triggers.yaml"
    edited.write_text(PACKAGED.read_text(encoding="utf-8") + "\n  - id: festivals\n    terms: {en: [festival*]}\n",
                      encoding="utf-8")
    shown = runner.invoke(app, ["triggers", "check", str(edited), "--days", "2"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:6]]
            for line in shown.output.splitlines() if line.count("│") >= 6}
    assert rows["festivals"] == ["0", "2", "+2", "-0"]  # new: two posts gained
    assert rows["nagorno_karabakh"] == ["1", "1", "+0", "-0"]  # unchanged
    assert "vigil reclassify" in shown.output

    broken = embedded / "broken.yaml"
    broken.write_text("triggers:\n  - id: Festivals\n    terms: [festival]\n", encoding="utf-8")
    refused = runner.invoke(app, ["triggers", "check", str(broken)])
    said = " ".join(refused.output.split())  # as the console wrapped it
    assert refused.exit_code == 1 and "is refused: trigger id 'Festivals'" in said
    from classifiers.taxonomy import PACKAGED

    itself = runner.invoke(app, ["triggers", "check", str(PACKAGED)])  # the file in use, compared with itself
    assert itself.exit_code == 1 and "is the file in use" in " ".join(itself.output.split())
