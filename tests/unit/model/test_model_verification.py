"""Is the expected quantity right? Calibration, the threshold rule and its figures, against hand results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from countnet.labels import LabelSpace
from countnet.verification import (
    auroc,
    expected_calibration_error,
    fit_temperature,
    probability_of_count,
    threshold_for_catch_rate,
    verification_figures,
    verification_set,
)

from contracts.model_answer import parse_prediction


def test_auroc_is_the_share_of_positive_negative_pairs_ranked_right_ties_half() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0]), np.array([2.0])) == 0.0
    # pairs: (2,1) right, (2,2) tie, (2,3) wrong, (5,*) right -> (1 + 0.5 + 0 + 3) / 6
    assert auroc(np.array([2.0, 5.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(4.5 / 6)


def test_the_threshold_flags_at_least_the_target_share_of_planted_errors() -> None:
    planted = np.array([0.05, 0.1, 0.2, 0.3, 0.9])
    threshold = threshold_for_catch_rate(planted, 0.8)
    assert (planted < threshold).sum() == 4  # 80% of 5, no more than needed
    assert threshold_for_catch_rate(planted, 0.81) > 0.9  # a fifth now needed
    assert threshold_for_catch_rate(np.array([1.0]), 0.5) == 1.0  # never above a probability


def test_temperature_scaling_recovers_the_temperature_the_labels_were_drawn_with() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 6, generator=generator) * 3
    labels = torch.multinomial((logits / 2.0).softmax(dim=1), 1, generator=generator).squeeze(1)
    assert fit_temperature(logits, labels.tolist()) == pytest.approx(2.0, rel=0.08)


def test_calibration_error_is_small_when_confidence_matches_accuracy() -> None:
    rng = np.random.default_rng(0)
    probabilities = np.tile([0.7, 0.3], (1000, 1))
    honest = (rng.random(1000) > 0.7).astype(int)  # class 0 right 70% of the time
    assert expected_calibration_error(probabilities, honest.tolist()) < 0.03
    assert expected_calibration_error(probabilities, [1] * 1000) == pytest.approx(0.7)


def test_planted_errors_are_one_item_either_way_and_counts_beyond_the_model_follow_the_lambda() -> None:
    # given one photo of 5 items and one of 1, for a model with an open-ended "6+" class
    space = LabelSpace(max_count=5, over_max="bucket")
    probabilities = np.array([[0.0, 0.0, 0.0, 0.1, 0.2, 0.4, 0.3], [0.1, 0.6, 0.3, 0.0, 0.0, 0.0, 0.0]])
    # when
    verification = verification_set(probabilities, [5, 1], space)
    # then each is its own correct bin, and its planted errors are t-1 and t+1 (6 is the "6+" class)
    assert verification.correct.tolist() == [0.4, 0.6]
    assert verification.planted.tolist() == [0.2, 0.3, 0.1, 0.3]
    # and P(expected) is exactly what the counting Lambda reads from the endpoint's answer
    answer = parse_prediction(
        {
            "predicted_count": 5,
            "predicted_label": "5",
            "confidence": 0.4,
            "probabilities": dict(zip(space.labels, probabilities[0].tolist(), strict=True)),
            "model_version": "m",
        }
    )
    for count in range(9):
        assert answer.probability_of(count) == probability_of_count(probabilities[0], count, space)


def test_figures_of_a_rule_on_a_small_hand_checked_set() -> None:
    space = LabelSpace(max_count=5)
    probabilities = np.array([[0.0, 0.1, 0.6, 0.3, 0.0, 0.0], [0.0, 0.0, 0.3, 0.3, 0.4, 0.0]])
    verification = verification_set(probabilities, [2, 3], space)
    # correct: P(2)=0.6, P(3)=0.3; planted: P(1)=0.1, P(3)=0.3, P(2)=0.3, P(4)=0.4
    figures = verification_figures(verification, mismatch_below=0.35)
    assert figures["caught"] == 0.75 and figures["false_alarms"] == 0.5 and figures["cleared"] == 0.5
    assert figures["auroc"] == pytest.approx((4 + 1 + 0.5 + 0.5) / 8)  # vs 0.6: all four; vs 0.3: 1, two ties
