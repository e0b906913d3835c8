"""Labels of ../shared that are known to be wrong, with the count to use instead and where that comes from.

`label_corrections.csv` (`image_id,expected_quantity,labelled,source`) is applied wherever the local data
is read for training, splitting or scoring (train.py's `--label-corrections`, the split's carve, the
benchmarks), so a photo never trains under one label and scores under another.
Standard library only.
"""

from __future__ import annotations

import csv
from pathlib import Path

CORRECTIONS_FILE = Path(__file__).resolve().parent / "label_corrections.csv"
COLUMNS = ("image_id", "expected_quantity", "labelled", "source")


class CorrectionsFileError(ValueError):
    """The corrections file is missing or a row is not a whole-number correction."""


def read_corrections(path: Path = CORRECTIONS_FILE) -> dict[str, int]:
    """image id (a string) -> the corrected count."""
    path = Path(path)
    if not path.is_file():
        raise CorrectionsFileError(f"label corrections file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CorrectionsFileError(
                f"{path} needs the columns {','.join(COLUMNS)}; has {reader.fieldnames}"
            )
        corrections = {}
        for line, row in enumerate(reader, start=2):
            count = row["expected_quantity"].strip()
            if not row["image_id"] or not count.isdigit():
                raise CorrectionsFileError(
                    f"{path} line {line}: {row} is not an id with a whole-number count"
                )
            corrections[row["image_id"]] = int(count)
    return corrections
