"""The reconciliation rule: from the endpoint's prediction and an expected quantity to a status.

The question is "is this bin's expected quantity right?". The model's answer carries its evidence rule
(`reconciliation_rule`, fitted on validation); with the deployment's decision settings (the prior rate of
wrong records, the cost of a look and of a missed error: `counting.decision`) it gives q, the probability
that the record is wrong given the photo, and the decision (`contracts.decision`):
- MATCH (clear): clearing costs less than a look, q x missed-error cost < look cost; nobody looks;
- LOW_CONFIDENCE (look): a look costs less than the error clearing might leave; a person checks the bin;
- MISMATCH (flag as wrong): the record is more likely wrong than right, q >= 1/2;
- with no expectation: NO_EXPECTATION;
- a model that carries no evidence rule: LOW_CONFIDENCE, saying why (nothing is cleared on an uncalibrated
  guess).
`delta` is predicted - expected (positive: more items seen than expected). An open-ended class such
as "16+" is a lower bound: it agrees with any expectation at or above it (delta 0) and otherwise
differs by at least predicted - expected.
The answer itself, and which class holds a count, are the endpoint's contract (`contracts.model_answer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.decision import DecisionCosts, Outcome, count_probability, decide, wrong_probability
from contracts.inventory_schema import Status
from contracts.model_answer import Prediction, parse_prediction

NO_RULE_REASON = (
    "the model carries no evidence rule (it was trained before the rule existed); retrain it with this "
    "version so that its verdicts can clear a bin"
)
STATUS_OF_OUTCOME = {
    Outcome.CLEAR: Status.MATCH,
    Outcome.LOOK: Status.LOW_CONFIDENCE,
    Outcome.FLAG: Status.MISMATCH,
}


@dataclass(frozen=True)
class Reconciliation:
    """The outcome for one image: what the model saw, what was expected, and the verdict."""

    status: Status
    prediction: Prediction
    expected_quantity: int | None
    delta: int | None
    expected_probability: float | None = None  # the model's calibrated P(expected count)
    wrong_probability: float | None = None  # q: P(the record is wrong | the photo), at the deployment's prior
    look_above: float | None = None  # the q above which a bin is looked at (look cost / missed-error cost)
    reason: str | None = None


def reconcile(
    prediction: Mapping[str, Any], expected_quantity: int | None, costs: DecisionCosts
) -> Reconciliation:
    """Status and delta of one image from its endpoint response JSON (see the module docstring)."""
    parsed = parse_prediction(prediction)
    if expected_quantity is None:
        return Reconciliation(Status.NO_EXPECTATION, parsed, None, None)
    delta = count_delta(parsed, expected_quantity)
    rule = parsed.rule
    if rule is None:
        return Reconciliation(Status.LOW_CONFIDENCE, parsed, expected_quantity, delta, reason=NO_RULE_REASON)
    wrong = wrong_probability(parsed.probabilities, expected_quantity, rule, costs.wrong_record_rate)
    return Reconciliation(
        STATUS_OF_OUTCOME[decide(wrong, costs)],
        parsed,
        expected_quantity,
        delta,
        expected_probability=count_probability(parsed.probabilities, expected_quantity, rule.tail_ratio),
        wrong_probability=wrong,
        look_above=costs.look_above,
    )


def count_delta(prediction: Prediction, expected_quantity: int) -> int:
    """predicted - expected; for a lower-bound class, the smallest difference the bound allows."""
    delta = prediction.count - expected_quantity
    return max(delta, 0) if prediction.is_lower_bound else delta
