"""nab-tweets: Vigil's default 5-minute detector on NAB's 10 realTweets series, scored as NAB does.

    .venv/bin/python bench/nab_tweets.py [--data ../shared/data/nab]

One set of default settings for every series (no per-series tuning) and one fixed alarm threshold
(score >= 1); NAB's own runs instead pick each detector's best threshold over the corpus.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.nab_score import PROFILES, normalise, probation, score_file  # noqa: E402
from monitor.spikes import detect_series  # noqa: E402

PUBLISHED = [  # NAB scoreboard, all 58 series (standard / reward_low_FP / reward_low_FN)
    ("ARTime (all 58)", 74.9, 65.1, 80.4),
    ("Numenta HTM (all 58)", 70.5, 62.6, 75.2),
    ("Twitter ADVec (all 58)", 47.1, 33.6, 53.5),
]


def read_series(path: Path) -> tuple[list[str], list[float]]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return [r["timestamp"] for r in rows], [float(r["value"]) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/nab")
    ap.add_argument("--verbose", action="store_true", help="per-series lines")
    args = ap.parse_args()
    windows_all = json.loads((args.data / "labels/combined_windows.json").read_text())
    totals = {name: [0.0, 0] for name in PROFILES}
    hit = windows = tp = fp = 0
    began = time.perf_counter()
    for path in sorted((args.data / "realTweets").glob("*.csv")):
        stamps, values = read_series(path)
        parsed = [dt.datetime.fromisoformat(s) for s in stamps]
        found = detect_series(parsed, values, "5min")
        alarm = {t for t, _ in found}
        detected = [t in alarm for t in parsed]
        wins = [(a[:19], b[:19]) for a, b in windows_all[f"realTweets/{path.name}"]]
        for name, profile in PROFILES.items():
            fs = score_file(stamps, detected, wins, profile)
            totals[name][0] += fs.score
            totals[name][1] += fs.windows
        fs = score_file(stamps, detected, wins, PROFILES["standard"])
        hit, windows, tp, fp = hit + fs.hit, windows + fs.windows, tp + fs.tp, fp + fs.fp
        if args.verbose:
            print(f"  {path.stem:24s} windows {fs.windows} hit {fs.hit} detections in/out {fs.tp}/{fs.fp}"
                  f"  (probation {probation(len(stamps))} points)")
    scores = {name: normalise(total, n, PROFILES[name]) for name, (total, n) in totals.items()}
    print(f"nab-tweets: 10 realTweets series, {windows} windows, {time.perf_counter() - began:.1f} s")
    print(f"{'detector':34s} {'standard':>9s} {'low_FP':>8s} {'low_FN':>8s}")
    print(f"{'Vigil default (5min)':34s} {scores['standard']:9.1f} {scores['reward_low_FP']:8.1f}"
          f" {scores['reward_low_FN']:8.1f}")
    for name, *vals in PUBLISHED:
        print(f"{name:34s} " + " ".join(f"{v:{w}.1f}" if v is not None else f"{'-':>{w}s}"
                                         for v, w in zip(vals, (9, 8, 8))))
    precision = tp / (tp + fp) if tp + fp else 0.0
    print(f"window recall {hit}/{windows} = {hit / windows:.2f}; "
          f"detection precision {tp}/{tp + fp} = {precision:.2f} (detections inside a window)")


if __name__ == "__main__":
    main()
