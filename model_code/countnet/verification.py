"""Is a bin's expected quantity right? Calibration, the reconciliation threshold, and how well it works.

A warehouse asks whether the quantity its system expects is right, not how many items there are.
The model answers with its probability of the expected count: temperature scaling (fitted on
validation) makes that probability honest, and a bin is flagged when it falls below a threshold
chosen on validation so that a target share of planted inventory errors is caught.

A planted error is the photo of a bin with t items reconciled against t - 1 or t + 1 (one item
missing or extra, the commonest inventory error); a correct bin is the same photo against t. Both
are scored by P(expected count), through the same label lookup the counting Lambda uses; the rule itself
(`ReconciliationRule`) is part of the endpoint's answer, in `contracts.model_answer`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from contracts.model_answer import label_for_count
from countnet.labels import LabelSpace

DEFAULT_TARGET_CATCH_RATE = 0.8
REPORTED_CATCH_RATES = (0.8, 0.9)
BOOTSTRAP_ROUNDS = 1000
CALIBRATION_BINS = 10


def probability_of_count(probabilities: np.ndarray, count: int, label_space: LabelSpace) -> float:
    """P(the bin holds `count` items): its class's probability; 0 for a count the model cannot predict.

    The class is found by the lookup the counting Lambda applies to the endpoint's answer
    (`contracts.model_answer.label_for_count`), so the threshold fitted here means the same there.
    """
    labels = label_space.labels
    label = label_for_count(labels, count)
    return 0.0 if label is None else float(probabilities[labels.index(label)])


def fit_temperature(logits: torch.Tensor, targets: Sequence[int]) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T) (Guo et al. 2017)."""
    logits = logits.detach().double()
    labels = torch.as_tensor(list(targets), dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def expected_calibration_error(probabilities: np.ndarray, targets: Sequence[int]) -> float:
    """ECE of the top-class confidence over equal-width bins: how far confidence is from accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(targets)
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    error = 0.0
    for index in range(CALIBRATION_BINS):
        members = bins == index
        if members.any():
            error += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(error)


@dataclass(frozen=True)
class VerificationSet:
    """P(expected) for every correct bin and every planted +-1 error, with the photo each came from."""

    correct: np.ndarray
    planted: np.ndarray
    correct_image: np.ndarray
    planted_image: np.ndarray


def verification_set(
    probabilities: np.ndarray, targets: Sequence[int], label_space: LabelSpace, counts: range = range(1, 6)
) -> VerificationSet:
    """Every photo whose true count is in `counts`, against its true count and against true +-1."""
    correct, planted, correct_image, planted_image = [], [], [], []
    for image, target in enumerate(targets):
        count = label_space.count_of(target)
        if count not in counts or label_space.labels[target].endswith("+"):
            continue
        correct.append(probability_of_count(probabilities[image], count, label_space))
        correct_image.append(image)
        for expected in (count - 1, count + 1):
            if expected >= 0:
                planted.append(probability_of_count(probabilities[image], expected, label_space))
                planted_image.append(image)
    return VerificationSet(
        np.asarray(correct), np.asarray(planted), np.asarray(correct_image), np.asarray(planted_image)
    )


def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counting half (Mann-Whitney U)."""
    scores = np.concatenate([positives, negatives])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, groups, sizes = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.bincount(groups, ranks) / sizes)[groups]
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_for_catch_rate(planted: np.ndarray, catch_rate: float) -> float:
    """The smallest `flag below` threshold that flags at least `catch_rate` of the planted errors."""
    ordered = np.sort(planted)
    needed = min(len(ordered), math.ceil(catch_rate * len(ordered)))
    if needed == 0:
        return 0.0
    # Flagging is P(expected) < threshold: just above the needed-th smallest planted probability.
    return float(min(1.0, np.nextafter(ordered[needed - 1], np.inf)))


def verification_figures(
    verification: VerificationSet, mismatch_below: float | None = None
) -> dict[str, float]:
    """AUROC, false alarms at fixed catch rates, and a threshold's catch / false-alarm / cleared rates."""
    if not len(verification.correct) or not len(verification.planted):
        raise ValueError("no photo with a count in the reconciliation range to measure the rule on")
    flag_planted, flag_correct = -verification.planted, -verification.correct  # low P(expected) = flag
    figures = {
        "auroc": auroc(flag_planted, flag_correct),
        "correct_bins": len(verification.correct),
        "planted_errors": len(verification.planted),
    }
    for rate in REPORTED_CATCH_RATES:
        threshold = threshold_for_catch_rate(verification.planted, rate)
        figures[f"false_alarms_at_{round(rate * 100)}_caught"] = float(
            (verification.correct < threshold).mean()
        )
    if mismatch_below is not None:
        figures["caught"] = float((verification.planted < mismatch_below).mean())
        figures["false_alarms"] = float((verification.correct < mismatch_below).mean())
        figures["cleared"] = 1.0 - figures["false_alarms"]
    return figures


def bootstrap_errors(
    verification: VerificationSet, mismatch_below: float | None, seed: int = 0
) -> dict[str, float]:
    """One standard error per figure, resampling photos (a photo's scores move together)."""
    rng = np.random.default_rng(seed)
    images = np.unique(verification.correct_image)
    correct_rows = {image: np.flatnonzero(verification.correct_image == image) for image in images}
    planted_rows = {image: np.flatnonzero(verification.planted_image == image) for image in images}
    samples: dict[str, list[float]] = {}
    for _ in range(BOOTSTRAP_ROUNDS):
        chosen = rng.choice(images, size=len(images), replace=True)
        correct = np.concatenate([correct_rows[i] for i in chosen])
        planted = np.concatenate([planted_rows[i] for i in chosen])
        resampled = VerificationSet(
            verification.correct[correct], verification.planted[planted], chosen, chosen
        )
        for name, value in verification_figures(resampled, mismatch_below).items():
            samples.setdefault(name, []).append(value)
    sizes = ("correct_bins", "planted_errors")
    return {name: float(np.std(values)) for name, values in samples.items() if name not in sizes}
