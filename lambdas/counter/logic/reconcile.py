"""The reconciliation rules: from the endpoint's prediction and an expected quantity to a status.

The question is "is this bin's expected quantity right?", so it is decided from the model's calibrated
probability of the expected count, P(expected), against the model's own threshold (fitted on
validation for a target share of inventory errors caught; sent with every prediction as
`reconciliation_rule`) unless the deployment overrides it (`counting.mismatch_below`):
- MATCH when P(expected) is at or above the threshold: the bin is cleared automatically;
- otherwise the bin is flagged: MISMATCH when the model is confident (top probability at or above
  the confidence threshold) of another count, else LOW_CONFIDENCE (a person should look); an expectation
  above every count the model predicts (no "N+" class) is LOW_CONFIDENCE, saying so;
- with no expectation: NO_EXPECTATION, or LOW_CONFIDENCE when the model is not confident;
- a model that carries no rule, with no override: LOW_CONFIDENCE, saying why (nothing is cleared
  on an uncalibrated guess).
`delta` is predicted - expected (positive: more items seen than expected). An open-ended class such
as "6+" is a lower bound: it agrees with any expectation at or above it (delta 0) and otherwise
differs by at least predicted - expected; P(expected) for such an expectation is that class's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.inventory_schema import Status


class MalformedPrediction(ValueError):
    """The endpoint answered, but not with the documented response JSON."""


NO_RULE_REASON = (
    "the model carries no calibrated reconciliation rule and counting.mismatch_below is not set; "
    "retrain the model with this version or set the threshold"
)


@dataclass(frozen=True)
class Prediction:
    """The endpoint's answer for one image (model_code/inference.py response JSON)."""

    count: int
    label: str
    confidence: float
    probabilities: dict[str, float]
    model_version: str
    mismatch_below: float | None = None  # the model's own threshold, when it carries a rule

    @property
    def is_lower_bound(self) -> bool:
        """True for an open-ended class such as "6+", whose count is the smallest it stands for."""
        return self.label.endswith("+")

    def label_for(self, count: int) -> str | None:
        """The class holding `count` items: its own, or an open-ended one ("6+") that bounds it; None when
        the model has no class for it."""
        if str(count) in self.probabilities:
            return str(count)
        for label in self.probabilities:
            if label.endswith("+") and label[:-1].isdigit() and count >= int(label[:-1]):
                return label
        return None

    def probability_of(self, count: int) -> float:
        """P(the bin holds `count` items); 0 for a count the model has no class for."""
        label = self.label_for(count)
        return 0.0 if label is None else self.probabilities[label]


@dataclass(frozen=True)
class Reconciliation:
    """The outcome for one image: what the model saw, what was expected, and the verdict."""

    status: Status
    prediction: Prediction
    expected_quantity: int | None
    delta: int | None
    expected_probability: float | None = None
    mismatch_below: float | None = None
    reason: str | None = None


def reconcile(
    prediction: Mapping[str, Any],
    expected_quantity: int | None,
    confidence_threshold: float,
    mismatch_below: float | None = None,
) -> Reconciliation:
    """Status and delta of one image from its endpoint response JSON (see the module docstring).

    `mismatch_below` overrides the model's own threshold when given.
    """
    parsed = parse_prediction(prediction)
    confident = parsed.confidence >= confidence_threshold
    if expected_quantity is None:
        status = Status.NO_EXPECTATION if confident else Status.LOW_CONFIDENCE
        return Reconciliation(status, parsed, None, None)
    delta = count_delta(parsed, expected_quantity)
    threshold = mismatch_below if mismatch_below is not None else parsed.mismatch_below
    if threshold is None:
        return Reconciliation(Status.LOW_CONFIDENCE, parsed, expected_quantity, delta, reason=NO_RULE_REASON)
    probability = parsed.probability_of(expected_quantity)
    if parsed.label_for(expected_quantity) is None:
        reason = f"the expected quantity {expected_quantity} is above every count the model predicts"
        return Reconciliation(
            Status.LOW_CONFIDENCE, parsed, expected_quantity, delta, probability, threshold, reason
        )
    if probability >= threshold:
        status = Status.MATCH
    else:
        status = Status.MISMATCH if confident and delta != 0 else Status.LOW_CONFIDENCE
    return Reconciliation(status, parsed, expected_quantity, delta, probability, threshold)


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
        mismatch_below=_rule_threshold(payload.get("reconciliation_rule")),
    )


def _rule_threshold(rule: Any) -> float | None:
    """The model's `reconciliation_rule.mismatch_below`; absent (older models) is None."""
    if rule is None:
        return None
    if not isinstance(rule, Mapping):
        raise MalformedPrediction(f"reconciliation_rule {rule!r:.200} is not an object")
    return _probability(rule.get("mismatch_below"), "reconciliation_rule.mismatch_below")


def _probability(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPrediction(f"{field} {value!r} is not a probability")
    if not 0.0 <= value <= 1.0:
        raise MalformedPrediction(f"{field} {value!r} is outside [0, 1]")
    return float(value)
