"""The daily detector the alerts use (seasonal NB + CUSUM, share-normalised) on series with known answers."""

from __future__ import annotations

import random

from monitor.spikes import default_detector, severity_for

DAILY = default_detector("day")


def _noisy(n: int, mean: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [max(0, round(rng.gauss(mean, mean ** 0.5))) for _ in range(n)]


def _alarms(counts, totals=None, start=0, min_count=None):
    return [d.index for d in DAILY.alarms(counts, totals, [i % 7 for i in range(len(counts))], start=start,
                                          min_count=min_count)]


def test_finds_an_injected_spike_and_nothing_else():
    counts = _noisy(60, 10)
    counts[45] = 40
    found = DAILY.alarms(counts, None, [i % 7 for i in range(60)])
    assert [d.index for d in found] == [45]
    assert found[0].observed == 40 and 5 < found[0].expected < 15


def test_volume_rise_with_flat_share_is_not_a_spike():
    totals = [200.0] * 40 + [600.0] * 5
    counts = [t * 0.05 for t in totals]  # the share stays at 5 % while volume triples
    assert _alarms(counts, totals) == []
    assert _alarms(counts) != []  # without volume the same counts would look like a spike


def test_share_rise_at_flat_volume_is_a_spike():
    totals = [200.0] * 45
    counts = [10.0] * 40 + [30.0] + [10.0] * 4
    assert _alarms(counts, totals) == [40]


def test_no_data_is_not_zero():
    counts: list[float | None] = [10.0] * 30 + [None] * 5 + [11.0]
    assert _alarms(counts) == []
    assert _alarms([None] * 40) == []


def test_min_count_guards_tiny_series():
    counts = [0.0, 1.0, 0.0] * 10 + [4.0]
    assert _alarms(counts, min_count=5) == []
    assert _alarms(counts, min_count=3) == [30]


def test_needs_a_warm_baseline_and_respects_start():
    assert _alarms([10.0] * 5 + [50.0]) == []  # five days are too few to judge
    counts = [10.0] * 30 + [50.0] + [10.0] * 5 + [50.0]
    assert _alarms(counts, start=31) == [36]


def test_a_day_back_at_its_baseline_does_not_extend_an_event():
    counts = [6.0, 5.0, 7.0, 6.0, 5.0, 6.0, 7.0] * 5 + [30.0, 34.0, 28.0, 6.0, 5.0, 6.0, 5.0]
    assert _alarms(counts, [200.0] * len(counts)) == [35, 36, 37]


def test_overdispersed_baseline_widens_the_band():
    calm = [10.0] * 30 + [25.0]
    wild = [2.0, 18.0] * 15 + [25.0]
    assert _alarms(calm) and not _alarms(wild)


def test_severity_levels():
    assert severity_for(3.1, 3.0) == "warning"
    assert severity_for(6.0, 3.0) == "high"
    assert severity_for(11.0, 3.0) == "critical"


def test_cusum_catches_a_slow_daily_build_up():
    counts = [10.0] * 60 + [round(10 * 1.04 ** i) for i in range(1, 31)]  # +4 % a day for a month
    found = DAILY.alarms(counts, None, [i % 7 for i in range(len(counts))], start=60)
    assert found and found[0].index < 60 + 21
