"""Counting metrics against values worked out by hand, and the label space they rest on."""

from __future__ import annotations

import math

import pytest
from countnet.labels import LabelSpace
from countnet.metrics import confusion_matrix, evaluate_predictions

# Six bins with counts 1..3; two mistakes: a 1 read as 2 (off by one) and a 3 read as 1 (off by two).
Y_TRUE = [1, 1, 2, 3, 3, 3]
Y_PRED = [1, 2, 2, 3, 3, 1]


def test_figures_match_hand_computed_values() -> None:
    # given
    space = LabelSpace(max_count=3)
    # when
    figures = evaluate_predictions(Y_TRUE, Y_PRED, space)
    # then: errors are 0, +1, 0, 0, 0, -2 items
    assert figures["accuracy"] == pytest.approx(4 / 6)
    assert figures["rmse"] == pytest.approx(math.sqrt(5 / 6))
    assert figures["mae"] == pytest.approx(3 / 6)
    assert figures["confusion_matrix"] == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 1, 0, 2]]
    per_class = figures["per_class"]
    assert per_class["1"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert per_class["2"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert per_class["3"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    # class 0 never occurs nor is predicted, so it does not dilute the macro average
    assert figures["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)


def test_a_majority_class_model_shows_up_in_macro_f1() -> None:
    space = LabelSpace(max_count=3)
    figures = evaluate_predictions(Y_TRUE, [3] * len(Y_TRUE), space)
    assert figures["accuracy"] == pytest.approx(0.5)
    assert figures["per_class"]["1"]["recall"] == 0.0
    # F1 of class 3: precision 3/6, recall 1 -> 2/3; classes 1 and 2 score 0
    assert figures["macro_f1"] == pytest.approx((2 / 3) / 3)


def test_errors_are_measured_in_items_with_the_over_max_bucket() -> None:
    space = LabelSpace(max_count=5, over_max="bucket")
    figures = evaluate_predictions([6, 0], [4, 0], space)
    assert figures["labels"][-1] == "6+"
    assert figures["mae"] == pytest.approx(1.0)  # the "6+" class counts as 6 items, a lower bound
    assert figures["rmse"] == pytest.approx(math.sqrt(2.0))


def test_confusion_matrix_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="y_true has 2 items but y_pred has 1"):
        confusion_matrix([0, 1], [0], 2)


@pytest.mark.parametrize(
    ("over_max", "count", "expected_class"),
    [("exclude", 5, 5), ("exclude", 6, None), ("bucket", 6, 6), ("bucket", 40, 6), ("bucket", 0, 0)],
)
def test_label_space_maps_counts_to_classes(over_max: str, count: int, expected_class: int | None) -> None:
    assert LabelSpace(max_count=5, over_max=over_max).class_of(count) == expected_class


def test_label_space_rejects_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="over_max must be one of"):
        LabelSpace(over_max="clip")
