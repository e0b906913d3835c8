"""Names of the files and folders a prepared dataset consists of (shared by prepare and upload).

Kept free of heavy imports so `data upload` does not load torch through countnet's readers.
"""

from __future__ import annotations

import csv
from pathlib import Path

SPLIT_NAMES = ("train", "validation", "test")
MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
DISTRIBUTION_PNG = "class_distribution.png"
LABELS_CSV = "labels.csv"
IMAGES_DIR = "images"


def read_synthetic_ids(prepared: Path) -> set[str]:
    """Ids the manifest marks synthetic (empty when there is no manifest)."""
    try:
        with (prepared / MANIFEST_CSV).open(newline="") as handle:
            return {row["image_id"] for row in csv.DictReader(handle) if row.get("synthetic") == "true"}
    except OSError:
        return set()
