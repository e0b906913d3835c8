"""The metric gate a model must pass before `model promote` puts it behind the endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.metric_lines import ACCURACY_METRIC as ACCURACY
from contracts.metric_lines import RMSE_METRIC as RMSE

# The majority class (3 items) is 24.8% of ABID's counts 0-5 (ABID-challenge validation split),
# so 0.30 is the least accuracy that shows a model learned to count at all.
DEFAULT_MIN_ACCURACY = 0.30


@dataclass(frozen=True)
class MetricGate:
    min_accuracy: float = DEFAULT_MIN_ACCURACY
    max_rmse: float | None = None


def gate_failures(metrics: dict[str, float], gate: MetricGate) -> list[str]:
    """Why the metrics fail the gate, one reason per line; empty when they pass."""
    failures: list[str] = []
    if ACCURACY not in metrics:
        failures.append(f"it has no {ACCURACY} metric")
    elif metrics[ACCURACY] < gate.min_accuracy:
        failures.append(f"{ACCURACY} {metrics[ACCURACY]:.4f} is below the gate {gate.min_accuracy:.4f}")
    if gate.max_rmse is not None:
        if RMSE not in metrics:
            failures.append(f"it has no {RMSE} metric")
        elif metrics[RMSE] > gate.max_rmse:
            failures.append(f"{RMSE} {metrics[RMSE]:.4f} is above the gate {gate.max_rmse:.4f}")
    return failures
