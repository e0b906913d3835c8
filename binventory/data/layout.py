"""Names of the files and folders a prepared dataset, or a manifest dataset, consists of.

Shared by prepare and upload, and by `data manifest` and `train plan|start --manifest`. Kept free of
heavy imports so those commands do not load torch through countnet's readers.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

SPLIT_NAMES = ("train", "validation", "test")
MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
DISTRIBUTION_PNG = "class_distribution.png"
LABELS_CSV = "labels.csv"
IMAGES_DIR = "images"
# A manifest dataset (binventory.data.manifests): <channel>.manifest, labels/<channel>.csv, these two.
MANIFEST_DATASET_SUMMARY = "summary.json"
MANIFEST_DATASET_PLOT = DISTRIBUTION_PNG
_MANIFEST_DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def check_manifest_dataset_name(name: str) -> str:
    """A manifest dataset's name becomes an S3 folder and part of job inputs: short, lower case, dashes."""
    if not _MANIFEST_DATASET_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a manifest dataset name: use 1-40 lower-case letters, digits and dashes, "
            "e.g. challenge"
        )
    return name


def read_synthetic_ids(prepared: Path) -> set[str]:
    """Ids the manifest marks synthetic (empty when there is no manifest)."""
    try:
        with (prepared / MANIFEST_CSV).open(newline="") as handle:
            return {row["image_id"] for row in csv.DictReader(handle) if row.get("synthetic") == "true"}
    except OSError:
        return set()
