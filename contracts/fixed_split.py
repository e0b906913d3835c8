"""The fixed split of the original ABID sample: photos for validation and a test set nothing touches.

Carved once (seed 2026, stratified by count with every count above 5 pooled) and committed as
`contracts/abid_sample_split.csv`, so every trainer and benchmark uses the same photos:
train on `train` (plus any other data), choose epochs, calibration and thresholds on `validation`,
report once on `test`. Ids not listed in the file are not originals of the sample (for example the
re-encoded abid-224 photos) and may only train.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

SPLIT_FILE = Path(__file__).resolve().parent / "abid_sample_split.csv"
SPLIT_SEED = 2026
HELD_OUT_FRACTIONS = (("test", 0.25), ("validation", 0.20))  # carved in this order; the rest trains
SPLIT_NAMES = ("train", "validation", "test")
POOLED_ABOVE = 5  # counts above this are one stratum: each is too rare to split on its own


class SplitFileError(ValueError):
    """The split file is missing, or a row is not `image_id,split` with a known split name."""


def carve_split(counts: Mapping[str, int], seed: int = SPLIT_SEED) -> dict[str, str]:
    """Assign every image id to train, validation or test, keeping each count's share in every part."""
    strata: dict[int, list[str]] = defaultdict(list)
    for image_id in sorted(counts):
        strata[min(counts[image_id], POOLED_ABOVE + 1)].append(image_id)
    rng = random.Random(seed)
    assignment: dict[str, str] = {}
    for stratum in sorted(strata):
        ids = strata[stratum]
        rng.shuffle(ids)
        start = 0
        for name, fraction in HELD_OUT_FRACTIONS:
            size = round(len(ids) * fraction)
            assignment.update(dict.fromkeys(ids[start : start + size], name))
            start += size
        assignment.update(dict.fromkeys(ids[start:], "train"))
    return assignment


def read_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """image id (a string, never a number) -> split name."""
    path = Path(path)
    if not path.is_file():
        raise SplitFileError(f"split file {path} not found; pass a CSV with the columns image_id,split")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if set(reader.fieldnames or ()) != {"image_id", "split"}:
            raise SplitFileError(f"{path} needs exactly the columns image_id,split; has {reader.fieldnames}")
        assignment = {}
        for line, row in enumerate(reader, start=2):
            if row["split"] not in SPLIT_NAMES or not row["image_id"]:
                raise SplitFileError(
                    f"{path} line {line}: {row['image_id']!r},{row['split']!r}; the split must be one of "
                    f"{', '.join(SPLIT_NAMES)}"
                )
            assignment[row["image_id"]] = row["split"]
    return assignment


def write_split(assignment: Mapping[str, str], path: Path = SPLIT_FILE) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "split"])
        writer.writerows(sorted(assignment.items()))
