"""Seeded stratified splits and class balancing, so every split keeps the count distribution.

A split depends only on the samples (not their order) and the seed, so the same data and seed give
the same train/validation/test sets on every machine.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from statistics import median

import torch.utils.data

from countnet.data import Sample

BALANCE_MODES = ("none", "cap", "weighted")


def stratified_split(
    samples: Sequence[Sample], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> tuple[list[Sample], ...]:
    """Split into len(fractions) parts holding about those fractions of every count.

    Each count is split on its own (rounding per count), so rare counts still reach the validation
    and test parts when they have a few samples; the first part (train) keeps at least one sample of
    every count.
    """
    if len(fractions) < 2 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be two or more non-negative numbers summing to 1, got {fractions}")
    by_count: dict[int, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.image_id):
        by_count[sample.count].append(sample)
    parts: list[list[Sample]] = [[] for _ in fractions]
    rng = random.Random(seed)
    for count in sorted(by_count):
        group = by_count[count]
        rng.shuffle(group)
        sizes = [round(len(group) * fraction) for fraction in fractions[1:]]
        while sum(sizes) >= len(group) and sum(sizes) > 0:
            sizes[sizes.index(max(sizes))] -= 1
        start = len(group) - sum(sizes)
        parts[0].extend(group[:start])
        for part, size in zip(parts[1:], sizes, strict=True):
            part.extend(group[start : start + size])
            start += size
    return tuple(sorted(part, key=lambda s: s.image_id) for part in parts)


def _by_count(sample: Sample) -> int:
    return sample.count


def cap_per_class(
    samples: Sequence[Sample],
    seed: int = 0,
    cap: int | None = None,
    class_of: Callable[[Sample], int] = _by_count,
) -> list[Sample]:
    """Keep at most `cap` samples of each class (default: the median class size), chosen at random.

    `class_of` groups samples (by count unless given, e.g. to pool every count above N in one class).
    """
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.image_id):
        by_class[class_of(sample)].append(sample)
    if not by_class:
        return []
    limit = cap if cap is not None else int(median(len(group) for group in by_class.values()))
    rng = random.Random(seed)
    kept: list[Sample] = []
    for key in sorted(by_class):
        group = by_class[key]
        kept.extend(rng.sample(group, limit) if len(group) > limit else group)
    return sorted(kept, key=lambda s: s.image_id)


def inverse_frequency_weights(class_indices: Sequence[int]) -> list[float]:
    """Per-sample weights so that each class is drawn equally often by a weighted sampler."""
    frequency: dict[int, int] = defaultdict(int)
    for index in class_indices:
        frequency[index] += 1
    return [1.0 / frequency[index] for index in class_indices]


class BinGroupSampler(torch.utils.data.Sampler[int]):
    """Every sample once per epoch, bin group by bin group in a seeded random order, so the photos of one
    bin mostly share a batch (for `losses.bin_pair_contrast`); each pass draws a new order."""

    def __init__(self, groups: Sequence[str], seed: int) -> None:
        members: dict[str, list[int]] = defaultdict(list)
        for index, group in enumerate(groups):
            members[group].append(index)
        self.members = [members[group] for group in sorted(members)]
        self.size = len(groups)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        order = list(range(len(self.members)))
        self.rng.shuffle(order)
        for group in order:
            indices = list(self.members[group])
            self.rng.shuffle(indices)
            yield from indices
