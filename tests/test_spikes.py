"""The foundation spike detector on series with known answers."""

from __future__ import annotations

import random

from monitor.spikes import SpikeParams, detect_spikes, severity_for


def _noisy(n: int, mean: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [max(0, round(rng.gauss(mean, mean ** 0.5))) for _ in range(n)]


def test_finds_an_injected_spike_and_nothing_else():
    counts = _noisy(60, 10)
    counts[45] = 40
    found = detect_spikes(counts)
    assert [d.index for d in found] == [45]
    assert found[0].observed == 40 and 5 < found[0].expected < 15


def test_volume_rise_with_flat_share_is_not_a_spike():
    totals = [200.0] * 40 + [600.0] * 5
    counts = [t * 0.05 for t in totals]  # the share stays at 5 % while volume triples
    assert detect_spikes(counts, totals) == []
    assert detect_spikes(counts) != []  # without volume the same counts would look like a spike


def test_no_data_is_not_zero():
    counts: list[float | None] = [10.0] * 30 + [None] * 5 + [11.0]
    assert detect_spikes(counts) == []
    assert detect_spikes([None] * 40) == []


def test_min_count_guards_tiny_series():
    counts = [0.0] * 30 + [3.0]
    assert detect_spikes(counts, params=SpikeParams(min_count=5)) == []
    assert [d.index for d in detect_spikes(counts, params=SpikeParams(min_count=3))] == [30]


def test_needs_a_baseline_and_respects_start():
    counts = [10.0] * 5 + [50.0]
    assert detect_spikes(counts) == []  # five baseline days are too few to judge
    counts = [10.0] * 30 + [50.0] + [10.0] * 5 + [50.0]
    assert [d.index for d in detect_spikes(counts, start=31)] == [36]


def test_overdispersed_baseline_widens_the_band():
    calm = [10.0] * 30 + [25.0]
    wild = [2.0, 18.0] * 15 + [25.0]
    assert detect_spikes(calm) and not detect_spikes(wild)


def test_severity_levels():
    assert severity_for(3.1, 3.0) == "warning"
    assert severity_for(6.0, 3.0) == "high"
    assert severity_for(11.0, 3.0) == "critical"
