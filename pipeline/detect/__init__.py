"""Detection over classified posts: outages, keyword filtering and surges, in event time. Pure.

No Kafka, no Faust: the ``detect`` agent, ``python -m pipeline analyze --alerts`` and the tests all feed
:class:`Observation` values to one :class:`Detector` and get :class:`Alert` values back.
"""

from feed.taxonomy import ALERT_TYPES
from pipeline.detect.detector import Detector
from pipeline.detect.model import Alert, DetectorConfig, Observation, Removal, WatchStatus, WindowStatus

__all__ = [
    "ALERT_TYPES",
    "Alert",
    "Detector",
    "DetectorConfig",
    "Observation",
    "Removal",
    "WatchStatus",
    "WindowStatus",
]
