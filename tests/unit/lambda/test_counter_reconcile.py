"""The reconciliation rule as plain functions: the outcome for each case, the costs' edges, the delta sign."""

from __future__ import annotations

import pytest
from model_answers import FAKE_RULE, prediction

from contracts.decision import DEFAULT_COSTS, DecisionCosts
from contracts.inventory_schema import Status
from contracts.model_answer import LIKELIHOOD_RATIO, EvidenceRule, MalformedPrediction, model_answer
from lambdas.counter.logic.reconcile import NO_RULE_REASON, reconcile


@pytest.mark.parametrize(
    ("count", "confidence", "expected", "status", "delta"),
    [
        (3, 0.9, 3, Status.MATCH, 0),  # the photo agrees: cleared
        (0, 0.9, 0, Status.MATCH, 0),  # an empty bin that should be empty
        (5, 0.999, 3, Status.MISMATCH, 2),  # more items seen than expected, surely: flagged, positive delta
        (1, 0.999, 3, Status.MISMATCH, -2),  # fewer: negative
        (
            4,
            0.9,
            3,
            Status.LOW_CONFIDENCE,
            1,
        ),  # evidence against, not yet more likely wrong than right: a look
        (3, 0.2, 3, Status.LOW_CONFIDENCE, 0),  # even when the count agrees, a photo this unsure is looked at
        (3, 0.9, None, Status.NO_EXPECTATION, None),
    ],
)
def test_status_and_delta(
    count: int, confidence: float, expected: int | None, status: Status, delta: int | None
) -> None:
    result = reconcile(prediction(count, confidence), expected, DEFAULT_COSTS)

    assert (result.status, result.delta, result.expected_quantity) == (status, delta, expected)
    assert result.prediction.count == count


def test_every_judged_record_keeps_what_it_was_judged_on() -> None:
    result = reconcile(prediction(4, 0.9), 3, DEFAULT_COSTS)

    assert result.expected_probability == pytest.approx(0.02)
    assert 0.1 < result.wrong_probability < 0.5
    assert result.look_above == pytest.approx(0.3 / 22.0)


def test_the_warehouse_s_costs_move_the_verdict_on_the_same_photo() -> None:
    # given a photo that favours 4 where 3 is expected
    payload = prediction(4, 0.9)

    # when a missed error costs little, the bin is cleared; when records are often wrong, it is flagged
    cheap_miss = DecisionCosts(wrong_record_rate=0.02, look_cost=0.3, missed_error_cost=1.0)
    often_wrong = DecisionCosts(wrong_record_rate=0.2, look_cost=0.3, missed_error_cost=22.0)
    assert reconcile(payload, 3, DEFAULT_COSTS).status is Status.LOW_CONFIDENCE
    assert reconcile(payload, 3, cheap_miss).status is Status.MATCH
    assert reconcile(payload, 3, often_wrong).status is Status.MISMATCH


def test_a_model_without_an_evidence_rule_clears_nothing_and_says_why() -> None:
    payload = prediction(3, 0.99)
    del payload["reconciliation_rule"]

    result = reconcile(payload, 3, DEFAULT_COSTS)

    assert (result.status, result.reason, result.wrong_probability) == (
        Status.LOW_CONFIDENCE,
        NO_RULE_REASON,
        None,
    )


OPEN_RULE = EvidenceRule(
    LIKELIHOOD_RATIO,
    temperature=1.0,
    slope=1.0,
    intercept=0.0,
    class_prior={**{str(k): 0.05 for k in range(16)}, "16+": 0.2},
    tail_ratio=0.5,
)


def open_answer(top: str, confidence: float) -> dict:
    labels = [*map(str, range(16)), "16+"]
    probabilities = {label: (1 - confidence) / 16 for label in labels}
    probabilities[top] = confidence
    return model_answer(
        count=int(top.rstrip("+")),
        label=top,
        confidence=confidence,
        probabilities=probabilities,
        model_version="m",
        rule=OPEN_RULE,
    )


def test_a_bin_expected_to_hold_nine_is_cleared_or_flagged_from_its_photo() -> None:
    # the model has a class for every count up to 15, so nine is told from ten
    assert reconcile(open_answer("9", 0.9), 9, DEFAULT_COSTS).status is Status.MATCH
    flagged = reconcile(open_answer("10", 0.999), 9, DEFAULT_COSTS)
    assert (flagged.status, flagged.delta) == (Status.MISMATCH, 1)


def test_an_open_ended_class_is_a_lower_bound_and_cannot_tell_its_own_counts_apart() -> None:
    # "16+" means at least sixteen: expecting 4 is surely wrong, by at least 12 items
    wrong = reconcile(open_answer("16+", 0.999), 4, DEFAULT_COSTS)
    assert (wrong.status, wrong.delta) == (Status.MISMATCH, 12)
    # expecting 20: the photo says "sixteen or more", which 19 and 21 fit as well as 20 does, so the
    # evidence is close to even and the warehouse's own rate of wrong records decides (a look, at these costs)
    even = reconcile(open_answer("16+", 0.999), 20, DEFAULT_COSTS)
    assert (even.status, even.delta) == (Status.LOW_CONFIDENCE, 0)
    rate = DEFAULT_COSTS.wrong_record_rate
    assert rate / 2 < even.wrong_probability < rate * 1.5
    # and P(20) is the open class's share at 20 by its tail: 0.999 x 0.5 x 0.5^4
    assert even.expected_probability == pytest.approx(0.999 * 0.5 * 0.5**4)


def test_the_fake_model_used_across_the_suites_carries_a_rule() -> None:
    assert prediction(2, 0.5)["reconciliation_rule"] == FAKE_RULE.to_dict()


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
        reconcile(payload, 3, DEFAULT_COSTS)
