"""Turn spikes and silences into deduplicated alerts with their drivers.

Series checked per country: the daily antisemitic count with its share of all posts (the volume
is the exposure, so a busier day alone is no spike), the same per trigger ("trigger:<id>") and per
category ("category:<id>") from the daily rollups, and the hourly count computed on the fly from
posts and classifications, so a rise within a day is caught before the day ends. Each runs through
the seasonal negative-binomial and CUSUM detectors of `monitor.spikes`.

An alert is one event of one (country, metric): opened once, updated while it lasts (alarms within
the cooldown belong to it, whichever resolution saw them), resolved by "vigil" when it has been quiet
for longer than the cooldown, or by an analyst. States: open -> acknowledged -> resolved; a resolved
alert whose event goes on after all reopens, and is announced again as its next notice. Sources
that stop succeeding raise "no_data" alerts of their own: silence never reads as a drop to zero.
"""

from monitor.alerts.events import check_spikes, replay_spikes
from monitor.alerts.gaps import check_gaps, day_volume
from monitor.alerts.params import GAP_METRIC, METRIC, SYSTEM, AlertParams, spike_params
from monitor.alerts.series import daily_series, hourly_series
from monitor.alerts.states import AlertStateError, acknowledge, list_alerts, resolve
from monitor.alerts.text import AlertText, describe_alert

__all__ = [
    "GAP_METRIC", "METRIC", "SYSTEM", "AlertParams", "AlertStateError", "AlertText", "acknowledge",
    "check_gaps", "check_spikes", "daily_series", "day_volume", "describe_alert", "hourly_series",
    "list_alerts", "replay_spikes", "resolve", "spike_params",
]
