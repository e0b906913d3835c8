"""Reviewed photos as training data: every resolved flag whose photo a person could judge, labelled with
what the reviewer found (CONFIRMED: the expected quantity; CORRECTED: the count entered; UNREADABLE: out).

Two forms of the same set:
- a local folder, `labels.csv` (`image_id,expected_quantity`) and `images/`, that `binventory local train
  --add-data DIR` adds to train.py's `--train` folders; `split.csv` says which part each photo is in;
- a manifest dataset in the dataset bucket, `manifests/<name>/` in the layout of `data manifest`
  (`contracts.manifest_layout`), its images copied beside it to `manifests/<name>/images/` (a snapshot:
  the ingest bucket's old versions expire), which `train start --manifest <name>` trains on.
Photos are split into train, validation and test by a seeded hash of their bin id: a bin's photos never
straddle two parts, and a bin keeps its part as reviews grow, so validation and test grow with the
warehouse's own bins and never see a bin that trained.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.inventory_schema import RecordAttr, ReviewOutcome, reviewed_count
from contracts.manifest_layout import IMAGE_CHANNELS

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)  # train, validation, test
DEFAULT_SEED = 2026
IMAGES_DIR = "images"
LABELS_FILE = "labels.csv"
SPLIT_FILE = "split.csv"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ReviewedPhoto:
    """One resolved photo as a training example."""

    image_id: str
    bin_id: str
    bucket: str
    key: str
    version: str | None
    count: int
    part: str  # train, validation or test


@dataclass
class ReviewedSet:
    """The labelled photos, and what was left out and why."""

    photos: list[ReviewedPhoto] = field(default_factory=list)
    unreadable: int = 0
    outside_bucket: int = 0

    def per_part(self) -> dict[str, int]:
        found = Counter(photo.part for photo in self.photos)
        return {part: found.get(part, 0) for part in IMAGE_CHANNELS}

    def bins_per_part(self) -> dict[str, int]:
        bins = {(photo.part, photo.bin_id) for photo in self.photos}
        found = Counter(part for part, _ in bins)
        return {part: found.get(part, 0) for part in IMAGE_CHANNELS}


def image_id_for(record: Mapping[str, Any]) -> str:
    """A stable, file-safe id for a record's photo: `<bin id>-<12 hex of its record key>`."""
    digest = hashlib.sha256(str(record[RecordAttr.RECORD_KEY]).encode()).hexdigest()[:12]
    return f"{_UNSAFE.sub('_', str(record[RecordAttr.BIN_ID]))[:40]}-{digest}"


def part_for_bin(
    bin_id: str, *, seed: int = DEFAULT_SEED, fractions: tuple[float, ...] = DEFAULT_FRACTIONS
) -> str:
    """Which part a bin's photos go to: a seeded hash of the bin id, so the answer never changes."""
    digest = hashlib.sha256(f"{seed}:{bin_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    bound = 0.0
    for part, fraction in zip(IMAGE_CHANNELS, fractions, strict=True):
        bound += fraction
        if position < bound:
            return part
    return IMAGE_CHANNELS[-1]


def reviewed_set(
    records: Iterable[Mapping[str, Any]], *, ingest_bucket: str, seed: int = DEFAULT_SEED
) -> ReviewedSet:
    """The labelled photos of resolved flags (newest resolution wins for a photo listed twice)."""
    found = ReviewedSet()
    for record in sorted(records, key=lambda r: str(r.get(RecordAttr.REVIEWED_AT, ""))):
        count = reviewed_count(record)
        if record.get(RecordAttr.REVIEW_OUTCOME) == ReviewOutcome.UNREADABLE or count is None:
            found.unreadable += 1
            continue
        if record[RecordAttr.IMAGE_BUCKET] != ingest_bucket:
            found.outside_bucket += 1
            continue
        bin_id = str(record[RecordAttr.BIN_ID])
        found.photos.append(
            ReviewedPhoto(
                image_id=image_id_for(record),
                bin_id=bin_id,
                bucket=str(record[RecordAttr.IMAGE_BUCKET]),
                key=str(record[RecordAttr.IMAGE_KEY]),
                version=record.get(RecordAttr.IMAGE_VERSION),
                count=count,
                part=part_for_bin(bin_id, seed=seed),
            )
        )
    found.photos.sort(key=lambda photo: photo.image_id)
    return found


def write_local_folder(photos: list[ReviewedPhoto], out: Path, read_photo: Any) -> int:
    """`labels.csv`, `split.csv` and `images/<id>.jpg` in `out`; photos already there are not read again.

    `read_photo(photo) -> bytes` fetches one photo. Returns how many were fetched now.
    """
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    fetched = 0
    for photo in photos:
        target = out / IMAGES_DIR / f"{photo.image_id}.jpg"
        if not target.is_file():
            target.write_bytes(read_photo(photo))
            fetched += 1
    with (out / LABELS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image_id", "expected_quantity"))
        writer.writerows((photo.image_id, photo.count) for photo in photos)
    with (out / SPLIT_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image_id", "split", "bin_id"))
        writer.writerows((photo.image_id, photo.part, photo.bin_id) for photo in photos)
    return fetched
