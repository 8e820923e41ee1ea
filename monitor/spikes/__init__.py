"""Pure spike detectors over count series; no database.

`SeasonalDetector` (hour-of-day / day-of-week baseline, negative binomial spread) and `CusumDetector`
(EWMA/CUSUM slow build-ups) share the `Detector` interface; `default_detector` combines them per
resolution. The alerts read `Ensemble.alarms` (every alarming point; the alert table keeps the event),
`vigil spikes detect` and the NAB bench read `detect_series` (one detection per event).
"""

from monitor.spikes.base import SEVERITIES, Detection, Detector, Score, find_events, severity_for, worse
from monitor.spikes.cusum import CusumDetector
from monitor.spikes.seasonal import SeasonalDetector, SeasonalParams
from monitor.spikes.series import RESOLUTIONS, Ensemble, default_detector, detect_series, phases_for, regularise

__all__ = [
    "RESOLUTIONS", "SEVERITIES", "CusumDetector", "Detection", "Detector", "Ensemble", "Score",
    "SeasonalDetector", "SeasonalParams", "default_detector", "detect_series", "find_events",
    "phases_for", "regularise", "severity_for", "worse",
]
