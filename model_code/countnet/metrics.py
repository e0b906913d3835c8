"""Counting metrics: accuracy, RMSE/MAE in items, macro F1, per-class figures and the confusion matrix.

RMSE and MAE are computed on item counts (class index -> count through the label space), so
predicting 4 for a true 5 costs less than predicting 1. Macro F1 averages the classes that occur in
the truth or the predictions (as scikit-learn does by default); a class never predicted has
precision 0, which is how a majority-class model shows up as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from countnet.labels import LabelSpace


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> list[list[int]]:
    """matrix[true][predicted] = number of samples."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    matrix = [[0] * num_classes for _ in range(num_classes)]
    for truth, prediction in zip(y_true, y_pred, strict=True):
        matrix[truth][prediction] += 1
    return matrix


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def per_class_scores(matrix: list[list[int]], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every class, keyed by label."""
    scores = {}
    for index, label in enumerate(labels):
        true_positive = matrix[index][index]
        support = sum(matrix[index])
        predicted = sum(row[index] for row in matrix)
        precision = _ratio(true_positive, predicted)
        recall = _ratio(true_positive, support)
        scores[label] = {
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
            "support": support,
        }
    return scores


def evaluate_predictions(
    y_true: Sequence[int], y_pred: Sequence[int], label_space: LabelSpace
) -> dict[str, Any]:
    """All figures for one set of predictions, as written to evaluation.json."""
    if not y_true:
        raise ValueError("cannot evaluate an empty set of predictions")
    matrix = confusion_matrix(y_true, y_pred, label_space.num_classes)
    errors = [label_space.count_of(p) - label_space.count_of(t) for t, p in zip(y_true, y_pred, strict=True)]
    per_class = per_class_scores(matrix, label_space.labels)
    present = [
        label
        for index, label in enumerate(label_space.labels)
        if per_class[label]["support"] or any(row[index] for row in matrix)
    ]
    return {
        "samples": len(y_true),
        "accuracy": sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true),
        "rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
        "mae": sum(abs(e) for e in errors) / len(errors),
        "macro_f1": sum(per_class[label]["f1"] for label in present) / len(present),
        "per_class": per_class,
        "labels": list(label_space.labels),
        "confusion_matrix": matrix,
    }
