"""What alerts measure and the detector parameters they run with."""

from __future__ import annotations

from dataclasses import dataclass

METRIC = "antisemitic_count"


GAP_METRIC = "posts"
QUIET_METRIC = "quiet"  # the country's sources answer, but no post has come for far longer than its volume allows


SYSTEM = "vigil"  # who resolves an alert on recovery


@dataclass(frozen=True)
class AlertParams:
    """How the checks read the series; one set for every country, no tuning per series."""

    min_count: int = 5           # antisemitic posts a day needs before it can alert
    series_min_count: int = 10   # the same for one trigger's or category's day: small series must not flap
    hourly_min_count: int = 5    # the same for one hour
    history_days: int = 112      # daily points the online detectors learn from
    hourly_days: int = 14        # days of hourly points they learn from
    lookback_days: int = 7       # recent days whose alarms are recorded (a late rollup still counts)
    cooldown_days: int = 3       # an event without an alarm for longer than this is over
    gap_hours: float = 6.0       # a source without a success for this long (and four polls) is a gap
    quiet_expected: float = 10.0  # posts a silence must have missed (at the country's usual rate) to be a gap
    quiet_baseline_days: int = 28  # days before the silence whose posts give that usual rate


def spike_params(settings) -> AlertParams:
    """The checks' parameters from Settings."""
    return AlertParams(min_count=settings.spike_min_count, cooldown_days=settings.spike_cooldown_days,
                       history_days=max(4 * settings.spike_baseline_days, 56))
