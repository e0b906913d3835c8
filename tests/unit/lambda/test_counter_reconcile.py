"""The reconciliation rules as plain functions: status for each case, the threshold edges, the delta sign."""

from __future__ import annotations

import pytest
from model_answers import MODEL_MISMATCH_BELOW, prediction

from contracts.inventory_schema import Status
from contracts.model_answer import MalformedPrediction
from lambdas.counter.logic.reconcile import NO_RULE_REASON, reconcile

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


def with_probabilities(count: int, probabilities: dict[str, float]) -> dict:
    payload = prediction(count, probabilities[str(count)])
    payload["probabilities"] = probabilities
    return payload


def test_the_expected_count_s_probability_at_the_model_s_threshold_clears_the_bin() -> None:
    # given P(expected = 2) exactly at, then just under, the threshold the model carries
    at = with_probabilities(3, {"2": MODEL_MISMATCH_BELOW, "3": 1 - MODEL_MISMATCH_BELOW})
    under = with_probabilities(3, {"2": MODEL_MISMATCH_BELOW - 0.001, "3": 1.001 - MODEL_MISMATCH_BELOW})

    # then the first bin is cleared although the model's best guess is 3; the second is flagged
    cleared = reconcile(at, 2, THRESHOLD)
    assert (cleared.status, cleared.delta, cleared.expected_probability) == (
        Status.MATCH,
        1,
        MODEL_MISMATCH_BELOW,
    )
    assert reconcile(under, 2, THRESHOLD).status is Status.MISMATCH


def test_a_flagged_bin_is_a_mismatch_only_when_the_model_is_confident_of_another_count() -> None:
    # P(expected = 1) is far under the threshold in both; only the confidence in "4" differs
    confident = reconcile(with_probabilities(4, {"1": 0.05, "4": THRESHOLD, "3": 0.45}), 1, THRESHOLD)
    unsure = reconcile(with_probabilities(4, {"1": 0.05, "4": 0.4999, "3": 0.4501}), 1, THRESHOLD)

    assert (confident.status, confident.delta) == (Status.MISMATCH, 3)
    assert (unsure.status, unsure.delta) == (Status.LOW_CONFIDENCE, 3)


def test_a_deployment_threshold_overrides_the_model_s_own() -> None:
    payload = prediction(2, 0.3)  # P(expected = 2) = 0.3: under the model's 0.4

    assert reconcile(payload, 2, THRESHOLD).status is Status.LOW_CONFIDENCE
    overridden = reconcile(payload, 2, THRESHOLD, mismatch_below=0.25)
    assert (overridden.status, overridden.mismatch_below) == (Status.MATCH, 0.25)
    assert reconcile(payload, 2, THRESHOLD, mismatch_below=0.0).status is Status.MATCH  # 0 never flags


def test_a_model_without_a_calibrated_rule_clears_nothing_and_says_why() -> None:
    payload = prediction(3, 0.99)
    del payload["reconciliation_rule"]

    result = reconcile(payload, 3, THRESHOLD)

    assert (result.status, result.reason) == (Status.LOW_CONFIDENCE, NO_RULE_REASON)
    assert reconcile(payload, 3, THRESHOLD, mismatch_below=0.4).status is Status.MATCH


def test_an_expectation_above_every_count_the_model_predicts_goes_to_a_person() -> None:
    # a model of counts 0..5 (no "6+" class) cannot confirm or refute 8 items
    result = reconcile(prediction(5, 0.9), 8, THRESHOLD)

    assert (result.status, result.expected_probability, result.delta) == (Status.LOW_CONFIDENCE, 0.0, -3)
    assert "above every count the model predicts" in result.reason


def test_a_malformed_rule_is_refused() -> None:
    payload = prediction(3, 0.9)
    payload["reconciliation_rule"] = {"mismatch_below": "low"}

    with pytest.raises(MalformedPrediction, match=r"reconciliation_rule\.mismatch_below"):
        reconcile(payload, 3, THRESHOLD)


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
