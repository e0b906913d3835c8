"""What a reconciled record adds to the drift metrics: flagged or not, P(expected), predicted - expected.

Model Monitor is closed to new customers and serverless endpoints capture no data, so drift is watched from
what the Lambda already knows (the dashboard and alarms in `stacks/monitoring/`).
"""

from __future__ import annotations

from contracts.inventory_schema import FLAGGED_STATUSES, RECONCILED_STATUSES, CounterMetric

from .records import InventoryRecord


def drift_values(record: InventoryRecord) -> dict[str, float]:
    """Metric name -> value for a reconciled record (an answer against an expected quantity); else none."""
    if record.status not in RECONCILED_STATUSES or record.expected_quantity is None:
        return {}
    values = {CounterMetric.FLAGGED: 1.0 if record.status in FLAGGED_STATUSES else 0.0}
    if record.expected_probability is not None:
        values[CounterMetric.EXPECTED_PROBABILITY] = float(record.expected_probability)
    if record.delta is not None:
        values[CounterMetric.COUNT_DELTA] = float(record.delta)
    return values
