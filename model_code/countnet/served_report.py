"""Figures of the model as it is served: its calibration, its reconciliation rule, and each split's report.

Everything here runs the packaged model through `countnet.serving` (the runtime the endpoint will use,
int8 included), so the rule is fitted to, and the figures describe, exactly what the endpoint answers.
The rule is fitted on validation only; the test split is only reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from contracts.model_answer import ReconciliationRule
from countnet.data import Sample
from countnet.labels import LabelSpace
from countnet.metrics import evaluate_predictions
from countnet.preprocessing import ImageTooLargeError, UnreadableImageError, load_tensor
from countnet.serving import CountModel
from countnet.verification import (
    bootstrap_errors,
    expected_calibration_error,
    fit_temperature,
    threshold_for_catch_rate,
    verification_figures,
    verification_set,
)

HEADLINE_COUNTS = range(1, 6)  # the counts the headline figures cover (as the published anchors do)
BATCH = 32


@dataclass(frozen=True)
class ServedOutputs:
    """Uncalibrated logits of the served model (test-time views averaged) for the readable photos."""

    logits: torch.Tensor
    targets: list[int]
    image_ids: list[str]


def served_logits(model: CountModel, samples: Sequence[Sample], targets: Sequence[int]) -> ServedOutputs:
    """Run every readable photo through the served runtime, a batch at a time (memory stays flat)."""
    chunks: list[torch.Tensor] = []
    kept_targets: list[int] = []
    kept_ids: list[str] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        if batch:
            chunks.append(torch.from_numpy(model.logits(torch.stack(batch))).float())
            batch.clear()

    for sample, target in zip(samples, targets, strict=True):
        try:
            batch.append(load_tensor(sample.path, model.config.preprocessing))
        except (UnreadableImageError, ImageTooLargeError, OSError):
            continue  # already named when training met it
        kept_targets.append(target)
        kept_ids.append(sample.image_id)
        if len(batch) == BATCH:
            flush()
    flush()
    return ServedOutputs(logits=torch.cat(chunks), targets=kept_targets, image_ids=kept_ids)


def fit_rule(
    validation: ServedOutputs, label_space: LabelSpace, target_catch_rate: float
) -> ReconciliationRule:
    """Temperature, then the threshold that catches `target_catch_rate` of validation's planted errors."""
    temperature = fit_temperature(validation.logits, validation.targets)
    probabilities = (validation.logits / temperature).softmax(dim=1).numpy()
    planted = verification_set(probabilities, validation.targets, label_space, HEADLINE_COUNTS).planted
    return ReconciliationRule(
        mismatch_below=threshold_for_catch_rate(planted, target_catch_rate),
        target_catch_rate=target_catch_rate,
        temperature=temperature,
    )


def _standard_error(share: float, n: int) -> float:
    return math.sqrt(share * (1 - share) / n) if n else float("nan")


def split_report(outputs: ServedOutputs, rule: ReconciliationRule, label_space: LabelSpace) -> dict[str, Any]:
    """Counting metrics, calibration and reconciliation figures of one split, with sampling errors."""
    probabilities = (outputs.logits / rule.temperature).softmax(dim=1).numpy()
    predicted = probabilities.argmax(axis=1).tolist()
    report = evaluate_predictions(outputs.targets, predicted, label_space)
    headline = [i for i, t in enumerate(outputs.targets) if label_space.count_of(t) in HEADLINE_COUNTS]
    if headline:
        figures = evaluate_predictions(
            [outputs.targets[i] for i in headline], [predicted[i] for i in headline], label_space
        )
        report["counts_1_to_5"] = {
            "samples": len(headline),
            "accuracy": figures["accuracy"],
            "accuracy_standard_error": _standard_error(figures["accuracy"], len(headline)),
            "rmse": figures["rmse"],
            "mae": figures["mae"],
            "recall": {
                str(count): figures["per_class"][str(count)]["recall"]
                for count in HEADLINE_COUNTS
                if str(count) in figures["per_class"]
            },
        }
    report["calibration"] = {
        "temperature": rule.temperature,
        "ece_uncalibrated": expected_calibration_error(
            outputs.logits.softmax(dim=1).numpy(), outputs.targets
        ),
        "ece": expected_calibration_error(probabilities, outputs.targets),
    }
    verification = verification_set(probabilities, outputs.targets, label_space, HEADLINE_COUNTS)
    report["reconciliation"] = {
        "mismatch_below": rule.mismatch_below,
        **verification_figures(verification, rule.mismatch_below),
        "standard_errors": bootstrap_errors(verification, rule.mismatch_below),
    }
    report["image_ids"] = outputs.image_ids
    report["targets"] = outputs.targets
    report["probabilities"] = np.round(probabilities, 6).tolist()
    return report
