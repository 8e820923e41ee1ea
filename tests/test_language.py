"""Language codes and detection on short posts in English, Russian and Armenian."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.language import detect_language, normalise_code, resolve_language


@pytest.mark.parametrize(("code", "expected"), [
    ("en", "en"), ("EN-us", "en"), ("pt_BR", "pt"), ("rus", "ru"), ("hye", "hy"), ("arm", "hy"),
    ("und", None), ("xx", None), ("", None), (None, None), ("english", None),
])
def test_normalise_code(code, expected):
    assert normalise_code(code) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Council approves three new bus routes downtown", "en"),
    ("Armen Petrosyan won the chess final in Gyumri.", "en"),
    ("Горсовет утвердил новые автобусные маршруты.", "ru"),
    ("Армен Петросян выиграл финал в Gyumri.", "ru"),
    ("Снег перекрыл дорогу на Jermuk.", "ru"),
    ("Երևանում շուկաները շուտ փակվեցին։", "hy"),
    ("Ոստիկանությունը Yerevan-ում երկու մարդու է ձերբակալել։", "hy"),
    ("Подробнее: https://news.example/article/2024/bridge-opening-ceremony @editor", "ru"),
])
def test_detects_short_posts(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "+1 !!!", "🙂🙂🙂", "https://example.org/some/long/path @someone"])
def test_too_short_or_empty_is_undetermined(text):
    assert detect_language(text) is None


def test_platform_language_wins_when_valid():
    assert resolve_language("en-US", "Горсовет утвердил новые автобусные маршруты.") == "en"


def test_invalid_platform_language_falls_back_to_detection():
    assert resolve_language("zz", "Горсовет утвердил новые автобусные маршруты.") == "ru"
    assert resolve_language(None, "Երևանում շուկաները շուտ փակվեցին։") == "hy"


def test_import_does_no_detection_work():
    # The detector (and lingua with it) is built on first use, not when the module is imported.
    code = "import sys, monitor.language; print('lingua' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False"
