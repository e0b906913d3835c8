"""The reconciliation rules: from the endpoint's prediction and an expected quantity to a status.

Status, in order of precedence:
- LOW_CONFIDENCE when the model's confidence is below the threshold (a confidence exactly at the
  threshold is confident enough), whatever the expectation: the count itself is not trustworthy;
- NO_EXPECTATION when no expected quantity is known;
- MATCH when the count agrees with the expectation, else MISMATCH.
`delta` is predicted - expected (positive: more items seen than expected). An open-ended class such
as "6+" is a lower bound: it agrees with any expectation at or above it (delta 0) and otherwise
differs by at least predicted - expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..schema import Status


class MalformedPrediction(ValueError):
    """The endpoint answered, but not with the documented response JSON."""


@dataclass(frozen=True)
class Prediction:
    """The endpoint's answer for one image (model_code/inference.py response JSON)."""

    count: int
    label: str
    confidence: float
    probabilities: dict[str, float]
    model_version: str

    @property
    def is_lower_bound(self) -> bool:
        """True for an open-ended class such as "6+", whose count is the smallest it stands for."""
        return self.label.endswith("+")


@dataclass(frozen=True)
class Reconciliation:
    """The outcome for one image: what the model saw, what was expected, and the verdict."""

    status: Status
    prediction: Prediction
    expected_quantity: int | None
    delta: int | None


def reconcile(
    prediction: Mapping[str, Any], expected_quantity: int | None, confidence_threshold: float
) -> Reconciliation:
    """Status and delta of one image from its endpoint response JSON (see the module docstring)."""
    parsed = parse_prediction(prediction)
    delta = None if expected_quantity is None else count_delta(parsed, expected_quantity)
    if parsed.confidence < confidence_threshold:
        status = Status.LOW_CONFIDENCE
    elif delta is None:
        status = Status.NO_EXPECTATION
    else:
        status = Status.MATCH if delta == 0 else Status.MISMATCH
    return Reconciliation(status, parsed, expected_quantity, delta)


def count_delta(prediction: Prediction, expected_quantity: int) -> int:
    """predicted - expected; for a lower-bound class, the smallest difference the bound allows."""
    delta = prediction.count - expected_quantity
    return max(delta, 0) if prediction.is_lower_bound else delta


def parse_prediction(payload: Mapping[str, Any]) -> Prediction:
    """Validate the endpoint's response JSON; MalformedPrediction names the first bad field."""
    if not isinstance(payload, Mapping):
        raise MalformedPrediction(f"endpoint response is not a JSON object: {payload!r:.200}")
    count = payload.get("predicted_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedPrediction(f"predicted_count {count!r} is not a whole number >= 0")
    label = payload.get("predicted_label")
    if not isinstance(label, str) or not label:
        raise MalformedPrediction(f"predicted_label {label!r} is not a class label")
    confidence = _probability(payload.get("confidence"), "confidence")
    probabilities = payload.get("probabilities")
    if not isinstance(probabilities, Mapping) or not probabilities:
        raise MalformedPrediction("probabilities is not a map of class label to probability")
    model_version = payload.get("model_version")
    if not isinstance(model_version, str) or not model_version:
        raise MalformedPrediction(f"model_version {model_version!r} is not a version string")
    return Prediction(
        count=count,
        label=label,
        confidence=confidence,
        probabilities={str(k): _probability(v, f"probabilities[{k!r}]") for k, v in probabilities.items()},
        model_version=model_version,
    )


def _probability(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPrediction(f"{field} {value!r} is not a probability")
    if not 0.0 <= value <= 1.0:
        raise MalformedPrediction(f"{field} {value!r} is outside [0, 1]")
    return float(value)
