"""The decision: the model's evidence and the warehouse's costs give clear, look or flag, as the Lambda,
train.py's figures and the benchmark all compute it (contracts.decision is the one definition)."""

from __future__ import annotations

import math

import pytest

from contracts.decision import (
    DEFAULT_COSTS,
    DecisionCosts,
    Outcome,
    decide,
    error_weights,
    statistic,
    wrong_probability,
)
from contracts.deployment_settings import load_settings_from_cdk_json
from contracts.model_answer import EXPECTED_PROBABILITY, LIKELIHOOD_RATIO, EvidenceRule

UNIFORM = {str(count): 1 / 6 for count in range(6)}


def rule(name: str = LIKELIHOOD_RATIO, slope: float = 1.0, intercept: float = 0.0) -> EvidenceRule:
    return EvidenceRule(name, temperature=1.0, slope=slope, intercept=intercept, class_prior=UNIFORM)


def test_a_photo_that_says_nothing_leaves_the_warehouse_s_own_rate_of_wrong_records() -> None:
    # given a photo whose probabilities are the prior the model was trained under
    for name in (LIKELIHOOD_RATIO,):
        q = wrong_probability(UNIFORM, 3, rule(name), wrong_record_rate=0.02)
        assert q == pytest.approx(0.02)


def test_the_posterior_odds_are_the_prior_odds_times_the_evidence() -> None:
    photo = {"0": 0.02, "1": 0.02, "2": 0.02, "3": 0.02, "4": 0.9, "5": 0.02}
    evidence = math.exp(statistic(photo, 3, rule()))
    for rate in (0.01, 0.02, 0.2):
        q = wrong_probability(photo, 3, rule(), rate)
        assert q / (1 - q) == pytest.approx(evidence * rate / (1 - rate))


def test_half_of_all_errors_are_one_item_off_and_no_count_goes_below_zero() -> None:
    weights = error_weights(3)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights[2] == weights[4] == pytest.approx(0.25)
    assert weights[1] == weights[5] == weights[0] == weights[23] > 0  # up to 20 items off, evenly
    assert min(weights) == 0 and 3 not in weights and 24 not in weights
    assert error_weights(0)[1] == pytest.approx(0.5)


def test_the_expected_probability_statistic_is_the_log_odds_against_the_expected_count() -> None:
    photo = {"0": 0.1, "1": 0.2, "2": 0.7}
    assert statistic(photo, 2, rule(EXPECTED_PROBABILITY)) == pytest.approx(math.log(0.3 / 0.7))


@pytest.mark.parametrize(
    ("wrong", "outcome"),
    [
        (0.0, Outcome.CLEAR),
        (0.3 / 22.0, Outcome.CLEAR),  # a look costs exactly what clearing risks: no look
        (0.3 / 22.0 + 1e-9, Outcome.LOOK),
        (0.4999, Outcome.LOOK),
        (0.5, Outcome.FLAG),  # more likely wrong than right
        (1.0, Outcome.FLAG),
    ],
)
def test_the_outcome_follows_the_costs(wrong: float, outcome: Outcome) -> None:
    assert decide(wrong, DecisionCosts(0.02, look_cost=0.3, missed_error_cost=22.0)) is outcome


@pytest.mark.parametrize(
    ("values", "message"),
    [((0.0, 0.3, 22.0), "wrong_record_rate"), ((0.02, 0.0, 22.0), "look_cost"), ((1.0, 1, 1), "between 0")],
)
def test_settings_a_warehouse_cannot_mean_are_refused(values: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DecisionCosts(*values)


def test_cdk_json_ships_the_documented_defaults() -> None:
    assert load_settings_from_cdk_json().counting.decision == DEFAULT_COSTS
