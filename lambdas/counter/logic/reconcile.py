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
The answer itself, and which class holds a count, are the endpoint's contract (`contracts.model_answer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.inventory_schema import Status
from contracts.model_answer import Prediction, parse_prediction

NO_RULE_REASON = (
    "the model carries no calibrated reconciliation rule and counting.mismatch_below is not set; "
    "retrain the model with this version or set the threshold"
)


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
