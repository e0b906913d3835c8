"""Is a bin's expected quantity right? Calibration, the evidence rule, and honest figures of how it works.

A warehouse asks whether the quantity its system expects is right, not how many items there are. Each
labelled photo of a bin holding t items yields reconciliation records: (t, right) and the planted errors
(t - 1, wrong) and (t + 1, wrong), one item missing or extra, the commonest inventory error. Errors are
planted only where the model could err: never below 0 items, and never where the wrong count falls in the
same class as the true one (both in the open-ended "16+" class: the model cannot tell them apart, and
counting such a record as caught or missed would measure the label space, not the photo). Records are
scored by `contracts.decision.statistic`, through the same lookup the counting Lambda applies.

Two AUROCs: the verification AUROC (every wrong record against every right one) and the AUROC within each
expected count (pairs compared only when they carry the same expectation), which a model that ignores the
image scores at exactly 0.5 whatever the mix of counts. Standard errors come from a bootstrap over bin
groups: photos of one bin move together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from contracts.decision import DecisionCosts, Outcome, decide, statistic, wrong_probability
from contracts.model_answer import EvidenceRule, label_for_count
from countnet.labels import LabelSpace

BOOTSTRAP_ROUNDS = 1000
CALIBRATION_BINS = 10
REPORTED_CATCH_RATES = (0.8, 0.9)


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
class Records:
    """Reconciliation records of a labelled set: which photo, the expected count, whether it is wrong."""

    image: np.ndarray
    expected: np.ndarray
    wrong: np.ndarray
    untellable: int = 0  # planted errors left out: the same class as the truth

    def subset(self, rows: np.ndarray) -> Records:
        return Records(self.image[rows], self.expected[rows], self.wrong[rows], self.untellable)


def reconciliation_records(counts: Sequence[int], label_space: LabelSpace, photos: range | None) -> Records:
    """Records of every photo whose true count is in `photos` (all when None): right, and planted +-1."""
    labels = label_space.labels
    image, expected, wrong, untellable = [], [], [], 0
    for index, count in enumerate(counts):
        if photos is not None and count not in photos:
            continue
        own = label_for_count(labels, count)
        if own is None:
            continue  # a count the model has no class for (an "exclude" label space)
        image.append(index), expected.append(count), wrong.append(False)
        for planted in (count - 1, count + 1):
            if planted < 0:
                continue
            if label_for_count(labels, planted) == own:
                untellable += 1
                continue
            image.append(index), expected.append(planted), wrong.append(True)
    return Records(np.asarray(image, int), np.asarray(expected, int), np.asarray(wrong, bool), untellable)


def probability_maps(probabilities: np.ndarray, labels: Sequence[str]) -> list[dict[str, float]]:
    """Each photo's class probabilities as the endpoint sends them: label -> probability."""
    return [dict(zip(labels, map(float, row), strict=True)) for row in probabilities]


def record_statistics(
    maps: Sequence[Mapping[str, float]], records: Records, rule: EvidenceRule
) -> np.ndarray:
    """Every record's evidence that its expectation is wrong (higher: more likely wrong)."""
    return np.asarray(
        [statistic(maps[i], int(e), rule) for i, e in zip(records.image, records.expected, strict=True)]
    )


def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counting half (Mann-Whitney U)."""
    if not len(positives) or not len(negatives):
        return float("nan")
    scores = np.concatenate([positives, negatives])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, groups, sizes = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.bincount(groups, ranks) / sizes)[groups]
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def within_count_auroc(records: Records, scores: np.ndarray) -> tuple[float, dict[int, float]]:
    """AUROC over pairs that carry the same expected count (pooled), and per expected count."""
    concordant, pairs, per_count = 0.0, 0, {}
    for expected in np.unique(records.expected):
        rows = records.expected == expected
        wrong, right = scores[rows & records.wrong], scores[rows & ~records.wrong]
        if len(wrong) and len(right):
            value = auroc(wrong, right)
            per_count[int(expected)] = value
            concordant += value * len(wrong) * len(right)
            pairs += len(wrong) * len(right)
    return (concordant / pairs if pairs else float("nan")), per_count


def fit_logistic(scores: np.ndarray, wrong: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of P(wrong | score) with both classes weighted equally (a prior of one half)."""
    x = torch.as_tensor(scores, dtype=torch.float64)
    y = torch.as_tensor(wrong, dtype=torch.float64)
    weights = torch.where(y > 0, 0.5 / max(1, int(y.sum())), 0.5 / max(1, int((1 - y).sum())))
    parameters = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([parameters], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = parameters[0] * x + parameters[1]
        loss = (
            weights * torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
        ).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    slope, intercept = parameters.detach().tolist()
    return float(slope), float(intercept)


def class_prior(train_counts: Sequence[int], label_space: LabelSpace) -> dict[str, float]:
    """Each label's share of the training photos (the prior the model's probabilities were learnt under)."""
    labels = label_space.labels
    tally = dict.fromkeys(labels, 0)
    for count in train_counts:
        label = label_for_count(labels, count)
        if label is not None:
            tally[label] += 1
    total = max(1, sum(tally.values()))
    return {label: max(number, 1) / total for label, number in tally.items()}


def tail_ratio(train_counts: Sequence[int], label_space: LabelSpace) -> float:
    """r of a geometric tail P(n) ~ r^(n - first) over the open-ended class, fitted to the training counts
    in it by maximum likelihood (r = mean excess / (1 + mean excess)); 0 without such a class."""
    if label_space.over_max != "bucket":
        return 0.0
    first = label_space.max_count + 1
    excess = [count - first for count in train_counts if count >= first]
    if not excess:
        return 0.0
    mean = sum(excess) / len(excess)
    return mean / (1.0 + mean)


def _log_odds_map(scores: np.ndarray, wrong: np.ndarray) -> tuple[float, float]:
    """The logistic map of one band; none (0, 0: the prior decides) where the statistic is no evidence."""
    if not wrong.any() or wrong.all():
        return 0.0, 0.0
    slope, intercept = fit_logistic(scores, wrong)
    if slope <= 0:  # the statistic does not rise with wrong records here: it is not evidence, so none is used
        return 0.0, 0.0
    return slope, intercept


def fit_evidence(
    maps: Sequence[Mapping[str, float]],
    records: Records,
    *,
    statistic_name: str,
    temperature: float,
    prior: Mapping[str, float],
    tail: float,
    band_starts: Sequence[int] = (),
) -> EvidenceRule:
    """The evidence rule: the statistic's logistic map to P(wrong), fitted on these (validation) records,
    one map for expectations below the first of `band_starts` and one from each start on."""
    draft = EvidenceRule(statistic_name, temperature, 1.0, 0.0, dict(prior), tail)
    scores = record_statistics(maps, records, draft)
    edges = [*sorted(band_starts), None]
    first = records.expected < edges[0] if edges[0] is not None else np.ones(len(scores), bool)
    slope, intercept = _log_odds_map(scores[first], records.wrong[first])
    bands = []
    for start, end in pairwise(edges):
        rows = (records.expected >= start) & (records.expected < end if end is not None else True)
        bands.append((start, *_log_odds_map(scores[rows], records.wrong[rows])))
    return EvidenceRule(statistic_name, temperature, slope, intercept, dict(prior), tail, tuple(bands))


def posteriors(
    maps: Sequence[Mapping[str, float]], records: Records, rule: EvidenceRule, wrong_record_rate: float
) -> np.ndarray:
    return np.asarray(
        [
            wrong_probability(maps[i], int(e), rule, wrong_record_rate)
            for i, e in zip(records.image, records.expected, strict=True)
        ]
    )


def decision_figures(
    wrong_probabilities: np.ndarray, records: Records, costs: DecisionCosts
) -> dict[str, float]:
    """What the rule does at a warehouse's settings, with records weighted to its rate of wrong records:
    share of errors caught (looked at or flagged), correct bins cleared, and the cost per 1,000 bins against
    looking at every bin and at none."""
    outcomes = np.asarray([decide(q, costs) for q in wrong_probabilities])
    acted = outcomes != Outcome.CLEAR
    wrong, right = records.wrong, ~records.wrong
    rate = costs.wrong_record_rate
    caught = float(acted[wrong].mean()) if wrong.any() else float("nan")
    looked_at_right = float(acted[right].mean()) if right.any() else float("nan")
    per_bin = (
        rate * (caught * costs.look_cost + (1 - caught) * costs.missed_error_cost)
        + (1 - rate) * looked_at_right * costs.look_cost
    )
    return {
        "caught": caught,
        "flagged_as_wrong_when_wrong": float((outcomes[wrong] == Outcome.FLAG).mean())
        if wrong.any()
        else 0.0,
        "flagged_as_wrong_when_right": float((outcomes[right] == Outcome.FLAG).mean())
        if right.any()
        else 0.0,
        "false_alarms": looked_at_right,
        "cleared": 1.0 - looked_at_right,
        "cost_per_1000_bins": 1000 * per_bin,
        "cost_per_1000_bins_look_at_all": 1000 * costs.look_cost,
        "cost_per_1000_bins_look_at_none": 1000 * rate * costs.missed_error_cost,
    }


def false_alarms_at_catch_rate(scores: np.ndarray, records: Records, catch_rate: float) -> float:
    """Share of right records flagged when the bar is set to catch `catch_rate` of the wrong ones."""
    ordered = np.sort(scores[records.wrong])[::-1]
    needed = min(len(ordered), math.ceil(catch_rate * len(ordered)))
    if needed == 0:
        return float("nan")
    bar = ordered[needed - 1]
    return float((scores[~records.wrong] >= bar).mean())


def separation_figures(scores: np.ndarray, records: Records) -> dict[str, float]:
    """How well the evidence separates wrong records from right ones, whatever the decision's settings."""
    within, per_count = within_count_auroc(records, scores)
    figures = {
        "auroc": auroc(scores[records.wrong], scores[~records.wrong]),
        "auroc_within_count": within,
        "right_records": int((~records.wrong).sum()),
        "planted_errors": int(records.wrong.sum()),
        "untellable_planted": records.untellable,
    }
    for rate in REPORTED_CATCH_RATES:
        figures[f"false_alarms_at_{round(rate * 100)}_caught"] = false_alarms_at_catch_rate(
            scores, records, rate
        )
    figures["auroc_within_count_by_expected"] = {str(k): v for k, v in per_count.items()}
    return figures


def bootstrap_errors(
    scores: np.ndarray,
    wrong_probabilities: np.ndarray | None,
    records: Records,
    groups: Sequence[str],
    costs: DecisionCosts | None,
    seed: int = 0,
) -> dict[str, float]:
    """One standard error per figure, resampling bin groups (a bin's photos and records move together)."""
    rng = np.random.default_rng(seed)
    group_of_record = np.asarray([groups[i] for i in records.image])
    names, inverse = np.unique(group_of_record, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == g) for g in range(len(names))]
    samples: dict[str, list[float]] = {}
    for _ in range(BOOTSTRAP_ROUNDS):
        rows = np.concatenate([rows_of[g] for g in rng.integers(0, len(names), len(names))])
        chosen = records.subset(rows)
        figures = {k: v for k, v in separation_figures(scores[rows], chosen).items() if isinstance(v, float)}
        if wrong_probabilities is not None and costs is not None:
            figures.update(decision_figures(wrong_probabilities[rows], chosen, costs))
        for name, value in figures.items():
            if not math.isnan(value):
                samples.setdefault(name, []).append(value)
    return {name: float(np.std(values)) for name, values in samples.items()}
