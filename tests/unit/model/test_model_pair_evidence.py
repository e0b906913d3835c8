"""bench/pair_evidence.py: the earlier photo of a bin adds its evidence to an error carried through a
transaction, and none to an error made in it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from countnet.labels import LabelSpace
from countnet.verification import within_count_auroc
from pair_evidence import SCORES, Pair, scored_records
from validation_experiments import Run

SPACE = LabelSpace(max_count=8, over_max="bucket")


def _run(rows: dict[str, np.ndarray]) -> Run:
    ids = list(rows)
    return Run("fake", SPACE, ids, [0] * len(ids), np.stack([rows[i] for i in ids]), 1.0, {})


def _sure_of(count: int) -> np.ndarray:
    """A photo the model reads right: 0.9 on its count, the rest spread."""
    row = np.full(SPACE.num_classes, 0.1 / (SPACE.num_classes - 1))
    row[count] = 0.9
    return row


def _auroc_within(records, kinds, scores, kind: str, score: str) -> float:
    keep = np.isin(kinds, ["right", kind])
    return within_count_auroc(records.subset(keep), scores[score][keep])[0]


@pytest.fixture
def blind_later_photos():
    """Stows (n, then n+1): the model reads the earlier photo right; the later one tells it nothing."""
    pairs, counts, rows = [], {}, {}
    for index, count in enumerate([2, 3, 4, 5, 2, 3, 4, 5]):
        earlier, later = f"{100 + 10 * index}", f"{101 + 10 * index}"
        pairs.append(Pair(earlier, later, earlier))
        counts[earlier], counts[later] = count, count + 1
        rows[earlier] = _sure_of(count)
        rows[later] = np.full(SPACE.num_classes, 1 / SPACE.num_classes)
    train_counts = [n for n in range(9) for _ in range(10)]
    return scored_records(_run(rows), pairs, counts, train_counts)


def test_the_later_photo_alone_cannot_tell_when_it_says_nothing(blind_later_photos) -> None:
    records, kinds, scores, _ = blind_later_photos
    for kind in ("carried", "new"):
        assert _auroc_within(records, kinds, scores, kind, SCORES[0]) == 0.5
        assert _auroc_within(records, kinds, scores, kind, SCORES[1]) == 0.5


def test_the_earlier_photo_catches_an_error_carried_through_the_transaction(blind_later_photos) -> None:
    records, kinds, scores, _ = blind_later_photos
    assert _auroc_within(records, kinds, scores, "carried", SCORES[2]) == 1.0
    assert _auroc_within(records, kinds, scores, "carried", SCORES[3]) == 1.0


def test_an_error_made_in_the_transaction_looks_right_to_the_earlier_photo(blind_later_photos) -> None:
    records, kinds, scores, _ = blind_later_photos
    # the earlier record was right, so its photo agrees with the right and the wrong record alike
    assert _auroc_within(records, kinds, scores, "new", SCORES[2]) == 0.5
    assert _auroc_within(records, kinds, scores, "new", SCORES[3]) == 0.5
