"""Pure spike detectors over count series; no database.

`detect_spikes` (trailing share baseline) serves the daily alerts; `SeasonalDetector` and
`CusumDetector` share the `Detector` interface and are combined per resolution by `default_detector`.
"""

from monitor.spikes.base import SEVERITIES, Detection, Detector, Score, find_events, severity_for, worse
from monitor.spikes.cusum import CusumDetector
from monitor.spikes.seasonal import SeasonalDetector, SeasonalParams
from monitor.spikes.series import RESOLUTIONS, Ensemble, default_detector, detect_series, phases_for, regularise
from monitor.spikes.trailing import SpikeParams, detect_spikes

__all__ = [
    "RESOLUTIONS", "SEVERITIES", "CusumDetector", "Detection", "Detector", "Ensemble", "Score",
    "SeasonalDetector", "SeasonalParams", "SpikeParams", "default_detector", "detect_series",
    "detect_spikes", "find_events", "phases_for", "regularise", "severity_for", "worse",
]
