"""Figures of the model as it is served: its calibration, its evidence rule, and each split's report.

Everything here runs the packaged model through `countnet.serving` (the runtime the endpoint will use,
int8 included), so the rule is fitted to, and the figures describe, exactly what the endpoint answers.
The rule is fitted on validation only; the test split is scored only when asked (`--report-test`).
Every figure is given for the bins of 0..5 items, of 2..5 (the range the published anchors and the
photos kept aside use) and of more than 5, separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from contracts.decision import DEFAULT_COSTS, DecisionCosts
from contracts.model_answer import EvidenceRule
from countnet.data import Sample
from countnet.labels import LabelSpace
from countnet.metrics import evaluate_predictions
from countnet.preprocessing import ImageTooLargeError, UnreadableImageError, load_tensor
from countnet.serving import CountModel
from countnet.verification import (
    bootstrap_errors,
    class_prior,
    decision_figures,
    expected_calibration_error,
    fit_evidence,
    fit_temperature,
    posteriors,
    probability_maps,
    reconciliation_records,
    record_statistics,
    separation_figures,
    tail_ratio,
)

PHOTO_RANGES = {"0_to_5": range(0, 6), "2_to_5": range(2, 6), "above_5": range(6, 1_000_000)}
# Expectations above 5 get a map of their own: the photo says much less about a bin of 12 than one of 3.
EVIDENCE_BAND_STARTS = (6,)
BATCH = 32


@dataclass(frozen=True)
class ServedOutputs:
    """Uncalibrated logits of the served model (test-time views averaged) for the readable photos."""

    logits: torch.Tensor
    counts: list[int]
    image_ids: list[str]


def served_logits(model: CountModel, samples: Sequence[Sample]) -> ServedOutputs:
    """Run every readable photo through the served runtime, a batch at a time (memory stays flat)."""
    chunks: list[torch.Tensor] = []
    counts: list[int] = []
    ids: list[str] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        if batch:
            chunks.append(torch.from_numpy(model.logits(torch.stack(batch))).float())
            batch.clear()

    for sample in samples:
        try:
            batch.append(load_tensor(sample.path, model.config.preprocessing))
        except (UnreadableImageError, ImageTooLargeError, OSError):
            continue  # already named when training met it
        counts.append(sample.count)
        ids.append(sample.image_id)
        if len(batch) == BATCH:
            flush()
    flush()
    return ServedOutputs(logits=torch.cat(chunks), counts=counts, image_ids=ids)


def _targets(counts: Sequence[int], label_space: LabelSpace) -> tuple[list[int], list[int]]:
    """(rows with a class, their class indices): photos above an "exclude" label space have none."""
    rows, targets = [], []
    for row, count in enumerate(counts):
        target = label_space.class_of(count)
        if target is not None:
            rows.append(row)
            targets.append(target)
    return rows, targets


def fit_rule(
    validation: ServedOutputs, label_space: LabelSpace, train_counts: Sequence[int], statistic_name: str
) -> EvidenceRule:
    """Temperature (on validation's classes), then the evidence statistic's map to P(wrong) on validation's
    planted errors, with the training class frequencies as the prior the probabilities were learnt under."""
    rows, targets = _targets(validation.counts, label_space)
    temperature = fit_temperature(validation.logits[rows], targets)
    probabilities = (validation.logits / temperature).softmax(dim=1).numpy()
    maps = probability_maps(probabilities, label_space.labels)
    records = reconciliation_records(validation.counts, label_space, photos=None)
    bands = [start for start in EVIDENCE_BAND_STARTS if label_space.num_classes > start]
    return fit_evidence(
        maps,
        records,
        statistic_name=statistic_name,
        temperature=temperature,
        prior=class_prior(train_counts, label_space),
        tail=tail_ratio(train_counts, label_space),
        band_starts=bands,
    )


def counting_report(
    probabilities: np.ndarray, counts: Sequence[int], label_space: LabelSpace, photos: range | None
) -> dict[str, Any] | None:
    """Counting metrics over the photos whose true count is in `photos` (all when None)."""
    rows, targets = _targets(counts, label_space)
    kept = [(r, t) for r, t in zip(rows, targets, strict=True) if photos is None or counts[r] in photos]
    if not kept:
        return None
    predicted = [int(probabilities[r].argmax()) for r, _ in kept]
    return evaluate_predictions([t for _, t in kept], predicted, label_space)


def reconciliation_report(
    maps: Sequence[Mapping[str, float]],
    counts: Sequence[int],
    label_space: LabelSpace,
    rule: EvidenceRule,
    costs: DecisionCosts,
    groups: Sequence[str],
    photos: range | None,
) -> dict[str, Any] | None:
    """Separation, the decision at `costs`, and bootstrap standard errors over bin groups."""
    records = reconciliation_records(counts, label_space, photos)
    if not records.wrong.any() or records.wrong.all():
        return None
    scores = record_statistics(maps, records, rule)
    wrong = posteriors(maps, records, rule, costs.wrong_record_rate)
    return {
        **separation_figures(scores, records),
        **decision_figures(wrong, records, costs),
        "standard_errors": bootstrap_errors(scores, wrong, records, groups, costs),
    }


def split_report(
    outputs: ServedOutputs,
    rule: EvidenceRule,
    label_space: LabelSpace,
    *,
    groups: Mapping[str, str] | None = None,
    costs: DecisionCosts = DEFAULT_COSTS,
) -> dict[str, Any]:
    """Counting, calibration and reconciliation figures of one split, per range of counts."""
    probabilities = (outputs.logits / rule.temperature).softmax(dim=1).numpy()
    maps = probability_maps(probabilities, label_space.labels)
    bins = [(groups or {}).get(image_id, image_id) for image_id in outputs.image_ids]
    rows, targets = _targets(outputs.counts, label_space)
    report: dict[str, Any] = {
        "counting": {"all": counting_report(probabilities, outputs.counts, label_space, None)},
        "calibration": {
            "temperature": rule.temperature,
            "ece_uncalibrated": expected_calibration_error(
                outputs.logits[rows].softmax(dim=1).numpy(), targets
            ),
            "ece": expected_calibration_error(probabilities[rows], targets),
        },
        "reconciliation": {"statistic": rule.statistic, "costs": costs.to_dict()},
    }
    for name, photos in PHOTO_RANGES.items():
        counting = counting_report(probabilities, outputs.counts, label_space, photos)
        if counting is not None:
            report["counting"][name] = counting
        reconciliation = reconciliation_report(maps, outputs.counts, label_space, rule, costs, bins, photos)
        if reconciliation is not None:
            report["reconciliation"][name] = reconciliation
    report["image_ids"] = outputs.image_ids
    report["counts"] = outputs.counts
    report["probabilities"] = np.round(probabilities, 6).tolist()
    return report
