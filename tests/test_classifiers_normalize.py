"""Normalisation: Unicode, placeholders and folding of common obfuscations."""

import pytest

from classifiers.normalize import TextNormalizer, normalize_text


@pytest.mark.parametrize(("raw", "expected"), [
    ("The J3WS and Z1ONISTS", "the jews and zionists"),
    ("h1tl3r was right", "hitler was right"),
    ("j*ws", "jews"),
    ("J.E.W.S run it", "jews run it"),
    ("j-e-w-s", "jews"),
    ("(((they))) know", "ECHOBRACKETS they know"),
    ("( ( (bankers) ) )", "ECHOBRACKETS bankers"),
    ("sooooo coool!!!!", "soo cool!!"),
    ("see https://example.org/a?b=1 now", "see URL now"),
    ("@someone_1 hello", "@USER hello"),
    ("mail me: me@example.org", "mail me: EMAIL"),
    ("ＥＶＲＥＩ", "evrei"),  # full-width letters folded by NFKC
    ("ЕВРЕИ и Израиль", "евреи и израиль"),
    ("Ալիևը", "ալիեւը"),  # Armenian ligature decomposed by NFKC
    ("in\u200bvisible", "invisible"),
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw", ["covid19 in 2021, 3 times", "f**k that", "((maybe))", "well-known e-mail", "a 10.5% rise"])
def test_ordinary_text_is_left_alone(raw):
    assert normalize_text(raw) == raw.casefold()


def test_transformer_is_stateless_and_maps_each_text():
    step = TextNormalizer()
    assert step.fit(["x"]) is step
    assert step.transform(["J3WS", None or ""]) == ["jews", ""]
