"""The off-the-shelf peers that `vigil evaluate` scores beside Vigil (installed by the test extra)."""

import numpy as np
import pytest

from classifiers.peers import PEERS, peer_scorers

# Texts written for this test: two openly hateful (one with profanity), two ordinary.
HATEFUL = ["those filthy jews are vermin, kill them all", "fucking kikes, get out of our country you scum"]
NEUTRAL = ["the city council opened a new library on friday", "my neighbours baked bread for the holiday"]


@pytest.fixture(scope="module")
def loaded():
    return peer_scorers()


@pytest.mark.parametrize("name", sorted(PEERS))
def test_each_peer_loads_and_ranks_hateful_posts_above_ordinary_ones(loaded, name):
    scorers, status = loaded
    assert status[name] == "scored", status[name]
    scores, flagged = scorers[name](HATEFUL + NEUTRAL)
    assert scores.shape == flagged.shape == (4,) and flagged.dtype == bool
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores[:2].min() > scores[2:].max()
    assert not flagged[2:].any()


def test_a_peer_that_is_missing_or_broken_is_reported_not_raised():
    def absent():
        raise ImportError("No module named 'nothere'", name="nothere")

    def broken():
        raise RuntimeError("Failed to construct locale with name:en_US.UTF-8")

    scorers, status = peer_scorers({"absent": absent, "broken": broken})
    assert scorers == {}
    assert status["absent"] == "not installed (nothere); pip install -e '.[peers]'"
    assert status["broken"] == "failed to load: RuntimeError: Failed to construct locale with name:en_US.UTF-8"

