"""The seasonal NB and CUSUM detectors, the event rule and the NAB scorer on series with known answers."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from typer.testing import CliRunner

from bench.nab_score import PROFILES, normalise, scaled_sigmoid, score_file
from monitor.spikes import (
    CusumDetector,
    SeasonalDetector,
    SeasonalParams,
    Score,
    default_detector,
    detect_series,
    find_events,
    phases_for,
)

HOURLY = SeasonalParams(phases=24, points_per_phase=1, level_halflife=72, season_halflife=3,
                        dispersion_halflife=72, warmup=72)
START = dt.datetime(2024, 1, 1)


def _seasonal(days: int, base: float = 20.0, seed: int = 3) -> list[float]:
    """Hourly counts with a day/night cycle and negative-binomial noise (alpha 0.05)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    mu = base * (1.0 + 0.8 * np.sin(2 * math.pi * (hours % 24 - 6) / 24))
    k = 20.0  # NB size: var = mu + mu^2 / k
    return [float(x) for x in rng.negative_binomial(k, k / (k + mu))]


def _phases(n: int) -> list[int]:
    return [i % 24 for i in range(n)]


def _detect(detector, counts, totals=None, grace=24, min_count=5):
    return find_events(detector.score(counts, totals, _phases(len(counts))), counts,
                       min_count=min_count, grace=grace)


def test_seasonal_finds_injected_spikes_and_little_else():
    counts = _seasonal(28)
    spikes = [24 * 10 + 3, 24 * 17 + 15, 24 * 23 + 20]  # one at night, two in the day
    for i in spikes:
        counts[i] = counts[i] * 3 + 40
    found = [d.index for d in _detect(SeasonalDetector(HOURLY, threshold=4.0), counts)]
    assert set(spikes) <= set(found)
    assert len(found) <= len(spikes) + 1


def test_the_daily_cycle_itself_is_not_a_spike():
    counts = _seasonal(28)
    assert _detect(SeasonalDetector(HOURLY, threshold=4.0), counts) == []


def test_a_level_shift_is_one_event_not_a_stream():
    counts = _seasonal(28)
    shift = 24 * 15
    counts = counts[:shift] + [c * 2.5 for c in counts[shift:]]
    found = _detect(SeasonalDetector(HOURLY, threshold=4.0), counts, grace=24)
    assert len(found) == 1 and shift <= found[0].index <= shift + 6
    assert found[0].end is not None and found[0].end > found[0].index


def test_cusum_catches_a_slow_ramp_the_point_detector_misses():
    counts = _seasonal(35, seed=5)
    start = 24 * 20
    for i in range(start, len(counts)):
        counts[i] *= 1.0 + 0.01 * (i - start)  # +1 % an hour: a build-up over days
    slow = SeasonalParams(phases=24, points_per_phase=1, level_halflife=24 * 7, season_halflife=7,
                          dispersion_halflife=24 * 7, warmup=24 * 7)
    point = _detect(SeasonalDetector(HOURLY, threshold=6.0), counts)
    ramp = _detect(CusumDetector(slow, k=0.5, h=8.0, ewma_halflife=12, ewma_limit=4.0), counts)
    assert [d for d in point if d.index >= start] == []
    assert ramp and start < ramp[0].index < start + 24 * 4
    assert all(d.index >= start for d in ramp)


def test_gaps_are_no_data_not_zero():
    counts: list[float | None] = _seasonal(28)
    gap = range(24 * 12, 24 * 15)
    for i in gap:
        counts[i] = None
    det = SeasonalDetector(HOURLY, threshold=4.0)
    scores = det.score(counts, None, _phases(len(counts)))
    assert all(scores[i] is None for i in gap)
    assert _detect(det, counts) == []  # neither the silence nor the return of data alarms
    assert det.score([None] * 100) == [None] * 100


def test_volume_rise_with_flat_share_is_not_a_spike():
    rng = np.random.default_rng(7)
    totals = [200.0] * (24 * 14) + [600.0] * 24
    counts = [float(rng.binomial(int(t), 0.05)) for t in totals]
    det = SeasonalDetector(HOURLY, threshold=4.0)
    assert _detect(det, counts, totals) == []
    assert _detect(det, counts) != []  # without volume the same counts would look like a spike


def test_min_count_guard():
    counts = [0.0] * 200 + [4.0]
    det = SeasonalDetector(HOURLY, threshold=4.0)
    assert _detect(det, counts, min_count=5) == []
    assert [d.index for d in _detect(det, counts, min_count=3)] == [200]


def test_event_rule_groups_alarms_and_keeps_the_worst_severity():
    scores = [None, Score(1, 1.2, 0), Score(1, 0.5, 0), Score(1, 4.0, 0)] + [Score(1, 0.1, 0)] * 10 + [Score(1, 2.5, 0)]
    counts = [10.0] * len(scores)
    found = find_events(scores, counts, min_count=5, grace=5)
    assert [(d.index, d.end) for d in found] == [(1, 3), (14, 14)]
    assert found[0].severity == "critical" and found[0].score == 4.0
    assert found[1].severity == "high"


def test_detect_series_on_timestamps_with_a_gap():
    counts = _seasonal(20)
    stamps = [START + dt.timedelta(hours=i) for i in range(len(counts))]
    counts[24 * 12 + 9] += 150
    keep = [i for i in range(len(counts)) if not 24 * 5 <= i < 24 * 6]  # a missing day
    found = detect_series([stamps[i] for i in keep], [counts[i] for i in keep], "hour")
    assert [t for t, _ in found] == [stamps[24 * 12 + 9]]
    assert phases_for([START + dt.timedelta(hours=5)], "hour") == [5]


def test_default_daily_detector_uses_day_of_week():
    rng = np.random.default_rng(11)
    weekly = [10, 12, 12, 11, 13, 30, 28]  # weekends are busy
    counts = [float(rng.poisson(weekly[i % 7])) for i in range(70)]
    stamps = [dt.datetime(2024, 1, 1) + dt.timedelta(days=i) for i in range(70)]  # a Monday
    assert detect_series(stamps, counts, "day") == []
    counts[60] = 60.0  # a Thursday with a weekend's double
    found = detect_series(stamps, counts, "day")
    assert [t for t, _ in found] == [stamps[60]]


def test_nab_scorer_perfect_null_and_false_positives():
    stamps = [f"t{i:04d}" for i in range(1000)]
    windows = [(stamps[300], stamps[349]), (stamps[700], stamps[749])]
    prof = PROFILES["standard"]
    perfect = score_file(stamps, [i in (300, 700) for i in range(1000)], windows, prof)
    null = score_file(stamps, [False] * 1000, windows, prof)
    assert normalise(perfect.score, 2, prof) == 100.0 and normalise(null.score, 2, prof) == 0.0
    late = score_file(stamps, [i == 349 for i in range(1000)], windows, prof)
    assert 0 < late.score + 1 < 0.1  # the right edge earns almost nothing, the other window is missed
    fp = score_file(stamps, [i in (300, 700, 500) for i in range(1000)], windows, prof)
    assert math.isclose(fp.score, 2 - prof["fp"] * -scaled_sigmoid(200 / 49), rel_tol=1e-9)
    early = score_file(stamps, [i in (300, 700, 200) for i in range(1000)], windows, prof)
    assert math.isclose(early.score, 2 - prof["fp"])  # before any window: the full penalty
    probation = score_file(stamps, [i == 50 for i in range(1000)], windows, prof)
    assert probation.fp == 0  # the first 15 % are not scored


def test_cli_detect_prints_jsonl(tmp_path):
    from monitor.cli import app

    counts = _seasonal(20)
    counts[24 * 12 + 9] += 150
    path = tmp_path / "series.csv"
    rows = [f"{(START + dt.timedelta(hours=i)).isoformat(sep=' ')},{c:g}" for i, c in enumerate(counts)]
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(app, ["spikes", "detect", str(path), "--resolution", "hour"])
    assert result.exit_code == 0, result.output
    import json

    lines = [json.loads(x) for x in result.output.splitlines() if x.startswith("{")]
    assert [x["timestamp"] for x in lines] == [str(START + dt.timedelta(hours=24 * 12 + 9))]
    assert set(lines[0]) >= {"timestamp", "score", "severity"}
    assert default_detector("5min").grace == 144
