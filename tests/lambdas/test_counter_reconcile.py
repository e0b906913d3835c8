"""The reconciliation rules as plain functions: status for each case, the threshold edge, the delta sign."""

from __future__ import annotations

import pytest
from counter_world import prediction

from lambdas.counter.logic.reconcile import MalformedPrediction, reconcile
from lambdas.counter.schema import Status

THRESHOLD = 0.5


@pytest.mark.parametrize(
    ("count", "confidence", "expected", "status", "delta"),
    [
        (3, 0.9, 3, Status.MATCH, 0),
        (5, 0.9, 3, Status.MISMATCH, 2),  # more items seen than expected: positive delta
        (1, 0.9, 3, Status.MISMATCH, -2),  # fewer: negative
        (0, 0.9, 0, Status.MATCH, 0),  # an empty bin that should be empty
        (3, 0.9, None, Status.NO_EXPECTATION, None),
        (3, 0.2, 3, Status.LOW_CONFIDENCE, 0),  # even when the count agrees
        (4, 0.2, 3, Status.LOW_CONFIDENCE, 1),
        (3, 0.2, None, Status.LOW_CONFIDENCE, None),  # unsure beats "nothing to compare with"
    ],
)
def test_status_and_delta(
    count: int, confidence: float, expected: int | None, status: Status, delta: int | None
) -> None:
    result = reconcile(prediction(count, confidence), expected, THRESHOLD)

    assert (result.status, result.delta, result.expected_quantity) == (status, delta, expected)
    assert result.prediction.count == count


def test_confidence_exactly_at_the_threshold_is_confident_enough() -> None:
    assert reconcile(prediction(2, THRESHOLD), 2, THRESHOLD).status is Status.MATCH
    assert reconcile(prediction(2, 0.4999), 2, THRESHOLD).status is Status.LOW_CONFIDENCE


def test_threshold_zero_never_flags_and_one_flags_all_but_certainty() -> None:
    assert reconcile(prediction(2, 0.0), 2, 0.0).status is Status.MATCH
    assert reconcile(prediction(2, 0.99), 2, 1.0).status is Status.LOW_CONFIDENCE
    assert reconcile(prediction(2, 1.0), 2, 1.0).status is Status.MATCH


@pytest.mark.parametrize(
    ("expected", "status", "delta"),
    [(6, Status.MATCH, 0), (12, Status.MATCH, 0), (4, Status.MISMATCH, 2)],
)
def test_an_open_ended_class_is_a_lower_bound(expected: int, status: Status, delta: int) -> None:
    # "6+" means at least six: it agrees with any expectation of six or more
    result = reconcile(prediction(6, 0.8, label="6+"), expected, THRESHOLD)

    assert (result.status, result.delta) == (status, delta)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("predicted_count", -1, "predicted_count"),
        ("predicted_count", "3", "predicted_count"),
        ("predicted_count", True, "predicted_count"),
        ("confidence", 1.5, "confidence"),
        ("confidence", None, "confidence"),
        ("probabilities", {}, "probabilities"),
        ("probabilities", {"0": "high"}, "probabilities"),
        ("model_version", "", "model_version"),
        ("predicted_label", None, "predicted_label"),
    ],
)
def test_a_response_that_breaks_the_endpoint_contract_is_refused(
    field: str, value: object, message: str
) -> None:
    payload = prediction(3, 0.9)
    payload[field] = value

    with pytest.raises(MalformedPrediction, match=message):
        reconcile(payload, 3, THRESHOLD)
