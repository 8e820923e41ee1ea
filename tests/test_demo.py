"""The newcomer's path: `vigil demo` on the embedded default (SQLite, in-process Celery worker)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_from_any_directory_and_shows_the_am_alert(tmp_path):
    vigil = shutil.which("vigil", path=os.path.dirname(os.sys.executable))
    assert vigil, "the vigil console script is installed beside the interpreter"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"
    run = subprocess.run([vigil, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]

    match = re.search(r"ALERT AM: antisemitic posts spiked from (\S+)", out)
    assert match, out[-3000:]
    assert match.group(1) in {"2024-02-20", "2024-02-21"}  # the day the fictional deal is reported
    assert "israel_azerbaijan_ties" in out.split("ALERT AM", 1)[1].splitlines()[0]
    assert not re.search(r"ALERT (AZ|GE|IL|DE)", out)  # flat countries raise nothing

    report = Path(re.search(r"Weekly report 2024-W08: (\S+\.html)", out).group(1))
    html = report.read_text(encoding="utf-8")
    assert "2024-W08" in html and "Armenia" in html and "<img" in html
    assert "3 rejected rows recorded" in out  # the sample's bad rows are counted, not dropped
