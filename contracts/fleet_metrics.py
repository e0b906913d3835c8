"""What the fleet's dashboard shows and `binventory status` prints: one list of figures, read by both.

Each figure is one CloudWatch statistic of one metric: the counting Lambda's (namespace `Binventory`,
dimension `service`, as Powertools writes them; names in `inventory_schema.CounterMetric`), or SageMaker's
and SQS's own. The dashboard graphs them per hour; `binventory status` asks for each over a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.counter_environment import SERVICE_NAME
from contracts.inventory_schema import METRICS_NAMESPACE, CounterMetric, Status

# Powertools Metrics adds the service as a dimension to every metric it writes.
COUNTER_DIMENSIONS = {"service": SERVICE_NAME}


def dashboard_name(stage: str) -> str:
    """`dev` -> `binventory-dev-fleet`: named, so `binventory status` can link it."""
    return f"binventory-{stage}-fleet"


@dataclass(frozen=True)
class Figure:
    """One statistic of one of the counting Lambda's metrics, and how a person reads it."""

    key: str  # a CloudWatch metric-data query id: lower case, letters, digits and _
    label: str
    metric: str
    stat: str  # Sum, Average or a percentile such as p10

    @property
    def namespace(self) -> str:
        return METRICS_NAMESPACE


STATUS_FIGURES = tuple(
    Figure(f"status_{status.value.lower()}", status.value, CounterMetric.for_status(status), "Sum")
    for status in Status
)
FLAG_RATE = Figure("flag_rate", "flag rate (flagged / reconciled)", CounterMetric.FLAGGED, "Average")
RECONCILED = Figure("reconciled", "reconciled records", CounterMetric.FLAGGED, "SampleCount")
EXPECTED_PROBABILITY = tuple(
    Figure(f"p_expected_{stat.lower()}", f"P(expected) {name}", CounterMetric.EXPECTED_PROBABILITY, stat)
    for stat, name in (("Average", "mean"), ("p10", "p10"), ("p50", "median"), ("p90", "p90"))
)
COUNT_DELTA = tuple(
    Figure(f"delta_{stat.lower()}", f"predicted - expected {name}", CounterMetric.COUNT_DELTA, stat)
    for stat, name in (("Average", "mean"), ("p10", "p10"), ("p50", "median"), ("p90", "p90"))
)
MESSAGES = (
    Figure("deferred", "deferred messages", CounterMetric.DEFERRED_MESSAGES, "Sum"),
    Figure("failed", "failed messages", CounterMetric.FAILED_MESSAGES, "Sum"),
)
FIGURES = (*STATUS_FIGURES, FLAG_RATE, RECONCILED, *EXPECTED_PROBABILITY, *COUNT_DELTA, *MESSAGES)
