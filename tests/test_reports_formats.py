"""Report formats: the PDF read back with poppler (pages as PNG, text), the CSV against the rollups,
coverage and methodology sections, and `vigil report --format` on the embedded default."""

from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import subprocess

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import Settings, use_settings
from monitor.reports import build_weekly_report, render_csv, render_html, render_pdf
from monitor.reports.coverage import build_coverage
from monitor.reports.methodology import read_model_card, summarise_card
from monitor.reports.weeks import utc_bounds
from tests.factories import make_post, make_source
from tests.test_reports import MONDAY, PREVIOUS, WEEK, rollup_sum, rollups, world  # noqa: F401 - fixtures

poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler-utils (pdftoppm, pdftotext)")


def _pdf_report(session):
    return build_weekly_report(session, WEEK, model_card=read_model_card())


@poppler
def test_pdf_pages_render_to_png_and_text_carries_the_numbers(db_session, world, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(_pdf_report(db_session)))
    assert pdf.read_bytes()[:5] == b"%PDF-"

    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 2 <= len(pages) <= 8
    for page in pages:  # A4 portrait (210 x 297 mm) at 50 dpi, give or take poppler's rounding
        width, height = struct.unpack(">II", page.read_bytes()[16:24])
        assert abs(width - 413) <= 1 and abs(height - 585) <= 1

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert text.count("\f") == len(pages)  # one form feed per page
    assert f"page 1 of {len(pages)}" in text and f"page {len(pages)} of {len(pages)}" in text
    assert "Vigil weekly report: 2024-W07" in text
    assert "5.7% (3.9–8.4%)" in text and "+3 (+14.3%)" in text  # DE against its rollups
    assert '<script>alert("x")</script> They control everything' in text  # escaped, so shown as text
    assert text.index("Content warning: the excerpts below") < text.index("They control everything")
    assert "cannot be regarded as" in text and "Coverage" in text and "Model card of" in text


def test_pdf_fetches_nothing_from_outside(db_session, world, monkeypatch):
    import weasyprint.urls

    fetched = []
    real = weasyprint.urls.URLFetcher.fetch
    monkeypatch.setattr(weasyprint.urls.URLFetcher, "fetch",
                        lambda self, url, *a, **kw: fetched.append(url[:5]) or real(self, url, *a, **kw))
    render_pdf(build_weekly_report(db_session, WEEK, ["DE"]))
    assert fetched and set(fetched) == {"data:"}


def _csv(report) -> dict[tuple[str, str, str, str, str], str]:
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert rows[0] == ["section", "country", "iso_week", "item", "measure", "value"]
    table = {tuple(r[:5]): r[5] for r in rows[1:]}
    assert len(table) == len(rows) - 1  # every number appears once
    return table


def test_csv_numbers_match_the_rollups(db_session, world):
    table = _csv(build_weekly_report(db_session, WEEK))
    for country in ("DE", "FR", "PL"):
        posts, anti = rollup_sum(world, country, MONDAY)
        assert table[("country", country, WEEK, "*", "posts")] == str(posts)
        assert table[("country", country, WEEK, "*", "antisemitic")] == str(anti)
        assert table[("trend", country, WEEK, "*", "antisemitic")] == str(anti)
    assert float(table[("country", "DE", WEEK, "*", "share")]) == pytest.approx(24 / 420, rel=1e-5)
    assert float(table[("country", "DE", WEEK, "*", "share_low_95")]) == pytest.approx(0.038697, abs=1e-6)
    assert table[("country", "DE", WEEK, "*", "days_with_data")] == "6"
    assert table[("overview", "ALL", WEEK, "*", "posts")] == "910"
    # No data is an empty value, not zero; zero stays zero.
    assert table[("trend", "FR", "2024-W03", "*", "posts")] == ""
    assert table[("trend", "FR", "2024-W03", "*", "days_with_data")] == "0"
    assert table[("trend", "FR", "2024-W04", "*", "antisemitic")] == "0"
    assert table[("country", "PL", WEEK, "*", "antisemitic_change_pct")] == ""
    for category in ("conspiracy", "classic_tropes", "dehumanization", "none"):
        for week, monday in ((WEEK, MONDAY), ("2024-W06", PREVIOUS)):
            posts, anti = rollup_sum(world, "DE", monday, category=category)
            assert table[("category", "DE", week, category, "antisemitic")] == str(anti)
            assert table[("category", "DE", week, category, "posts")] == str(posts)
    assert table[("trigger", "DE", WEEK, "gaza_war", "antisemitic")] == "12"
    assert table[("alert", "DE", WEEK, "spike:antisemitic:2024-02-15", "status")] == "open"


def test_csv_neutralises_formula_cells(db_session, world):
    source = make_source(db_session, "DE", name="=HYPERLINK(\"http://evil\")")
    make_post(db_session, source, MONDAY)
    text = render_csv(build_weekly_report(db_session, WEEK, ["DE"]))
    assert "\n=" not in text and ",=" not in text


def test_coverage_counts_sources_languages_and_uncovered_posts(db_session):
    start, end = utc_bounds(MONDAY)
    active = make_source(db_session, "AM", name="am-active")
    silent = make_source(db_session, "AM", name="am-silent")
    failing = make_source(db_session, "AM", name="am-failing")
    failing.consecutive_failures = 3
    make_source(db_session, "AM", name="am-off", enabled=False)
    make_post(db_session, silent, PREVIOUS)  # last week only
    make_post(db_session, failing, MONDAY)  # posted, then broke: failing wins
    for i in range(3):
        make_post(db_session, active, MONDAY, f"english {i}", classification={"language_covered": True})
    hy = make_post(db_session, active, MONDAY, "a Georgian post", classification={"language_covered": False})
    hy.language = "ka"
    make_post(db_session, active, MONDAY, "not classified yet").language = None
    db_session.flush()

    cov = build_coverage(db_session, start, end, ["AM", "DE"])["AM"]
    assert (cov.active, cov.silent, cov.failing, cov.disabled) == (
        ["am-active"], ["am-silent"], ["am-failing"], ["am-off"])
    assert cov.languages == [("en", 4), ("ka", 1), ("unknown", 1)]
    assert (cov.classified, cov.uncovered) == (4, 1) and cov.uncovered_share == pytest.approx(0.25)
    empty = build_coverage(db_session, start, end, ["DE"])["DE"]
    assert empty.languages == [] and empty.uncovered_share is None


def test_methodology_shows_the_model_card(db_session, world):
    from classifiers.artifacts import default_model_dir

    card = json.loads((default_model_dir() / "card.json").read_text(encoding="utf-8"))
    summary = read_model_card()
    assert summary.version == card["version"]
    report = build_weekly_report(db_session, WEEK, ["DE"], model_card=summary)
    html = render_html(report, charts=False)
    assert f"Model card of {summary.version}" in html
    assert "This is the current model" in html  # the week's posts were classified by clf-2024.02
    for evaluation in summary.evaluations:
        assert f">{evaluation.name}</td>" in html


def test_card_summary_keeps_what_it_knows():
    card = {"version": "v9", "threshold": 0.5, "languages": ["en"],
            "scores": {"test": {"rows": 10, "antisemitic": 4, "precision": 0.5, "recall": 0.25, "f1": 0.333},
                       "test_categories_f1": {"rows": 4, "conspiracy": 0.5},
                       "odd": "not a dict"}}
    summary = summarise_card(card)
    [evaluation] = summary.evaluations
    assert (evaluation.rows, evaluation.antisemitic, evaluation.auc) == (10, 4, None)
    assert summary.category_f1 == {"test_categories_f1": {"conspiracy": 0.5}}
    assert read_model_card(__import__("pathlib").Path("/nonexistent")) is None


@pytest.fixture
def embedded(tmp_path):
    use_settings(Settings(data_dir=tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    use_settings(None)


def test_cli_writes_each_format(embedded, tmp_path):
    for fmt, magic in (("html", b"<!DOCTYPE html>"), ("csv", b"section,country"), ("pdf", b"%PDF-")):
        out = tmp_path / f"r.{fmt}"
        result = embedded.invoke(app, ["report", "--week", "2024-W07", "--country", "am", "--format", fmt,
                                       "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(magic)
    bad = embedded.invoke(app, ["report", "--week", "2024-W07", "--format", "docx", "-o", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "--format" in bad.output
    assert embedded.invoke(app, ["report", "resend", "999"]).exit_code != 0


def test_post_texts_never_reach_the_csv(db_session, world):
    assert "They control everything" not in render_csv(build_weekly_report(db_session, WEEK))
