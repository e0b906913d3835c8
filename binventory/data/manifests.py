"""Manifest datasets: SageMaker manifests that list public ABID images, with their labels beside them.

A training job reads the images straight from the public bucket, so nothing is copied. One folder per
dataset, written locally and uploaded to `s3://<dataset bucket>/manifests/<name>/`:
- `train.manifest`, `validation.manifest`, `test.manifest`: the SageMaker `ManifestFile` format, a JSON
  array whose first element is `{"prefix": "s3://aft-vbi-pds/bin-images/"}` and whose other elements
  are keys relative to it (`"00001.jpg"`), one per line;
- `labels/<channel>.csv` (`image_id,expected_quantity`): the job's `labels` channel, which train.py
  reads beside each image channel (contracts.manifest_layout);
- `summary.json` (images per count per channel, how the split was made) and `class_distribution.png`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from countnet.data import Sample
from countnet.splits import stratified_split

from binventory.data.layout import (
    MANIFEST_DATASET_PLOT,
    MANIFEST_DATASET_SUMMARY,
    check_manifest_dataset_name,
)
from binventory.data.prepare import PreparedSplits, plot_distribution
from contracts import stack_outputs
from contracts.manifest_layout import IMAGE_CHANNELS, LABELS_CHANNEL, MANIFEST_SUFFIX, labels_file_name

PUBLIC_IMAGES_URI = f"s3://{stack_outputs.PUBLIC_DATASET_BUCKET}/{stack_outputs.PUBLIC_IMAGES_PREFIX}"


@dataclass(frozen=True)
class ManifestDataset:
    """Image id -> count for each channel (train, validation, test), and how the split was made."""

    name: str
    channels: dict[str, dict[str, int]]
    source: dict[str, Any] = field(default_factory=dict)
    # Where the listed `<id>.jpg` images are: the public ABID bucket, or a folder of the dataset bucket.
    prefix: str = PUBLIC_IMAGES_URI

    def __post_init__(self) -> None:
        check_manifest_dataset_name(self.name)
        if tuple(self.channels) != IMAGE_CHANNELS:
            raise ValueError(f"channels must be {IMAGE_CHANNELS}, got {tuple(self.channels)}")
        seen: dict[str, str] = {}
        for channel, labels in self.channels.items():
            for image_id in labels:
                if image_id in seen:
                    raise ValueError(
                        f"image {image_id} is in both the {seen[image_id]} and {channel} channels"
                    )
                seen[image_id] = channel

    def images(self) -> dict[str, int]:
        return {channel: len(labels) for channel, labels in self.channels.items()}


def manifest_text(image_ids: Iterable[str], prefix: str = PUBLIC_IMAGES_URI) -> str:
    """A `ManifestFile` body: `[{"prefix": ...},` on the first line, then one relative key per line."""
    lines = [json.dumps({"prefix": prefix}), *(json.dumps(f"{i}.jpg") for i in image_ids)]
    return "[" + ",\n".join(lines) + "]\n"


def stratified_parts(
    labels: dict[str, int], fractions: Sequence[float], seed: int
) -> tuple[dict[str, int], ...]:
    """Split id -> count by `fractions`, keeping every count's share (countnet's seeded split)."""
    samples = [Sample(image_id, Path(f"{image_id}.jpg"), count) for image_id, count in labels.items()]
    parts = stratified_split(samples, fractions, seed=seed)
    return tuple({sample.image_id: sample.count for sample in part} for part in parts)


def class_distribution(dataset: ManifestDataset, max_count: int) -> dict[str, dict[str, int]]:
    """channel -> count label ("0".."N", ">N") -> images."""
    return _as_prepared(dataset, max_count).distribution()


def write_manifest_dataset(dataset: ManifestDataset, out: Path, max_count: int) -> list[Path]:
    """Write the manifests, label files, summary and plot into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / LABELS_CHANNEL).mkdir(exist_ok=True)
    written: list[Path] = []
    for channel, labels in dataset.channels.items():
        ids = sorted(labels)
        manifest = out / f"{channel}{MANIFEST_SUFFIX}"
        manifest.write_text(manifest_text(ids, dataset.prefix), encoding="utf-8")
        label_file = out / LABELS_CHANNEL / labels_file_name(channel)
        with label_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("image_id", "expected_quantity"))
            writer.writerows((image_id, labels[image_id]) for image_id in ids)
        written += [manifest, label_file]
    summary = {
        "name": dataset.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "prefix": dataset.prefix,
        "source": dataset.source,
        "images": dataset.images(),
        "distribution": class_distribution(dataset, max_count),
    }
    (out / MANIFEST_DATASET_SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    title = f"{dataset.name}: images per count ({dataset.source.get('split', 'manifest')} split)"
    plot = plot_distribution(_as_prepared(dataset, max_count), out / MANIFEST_DATASET_PLOT, title)
    return [*written, out / MANIFEST_DATASET_SUMMARY, plot]


def upload_manifest_dataset(s3: Any, bucket: str, out: Path, files: Iterable[Path], name: str) -> str:
    """Upload `files` (written under `out`) to `manifests/<name>/` of the dataset bucket; returns its URI."""
    folder = f"{stack_outputs.DATASET_MANIFESTS_PREFIX}{check_manifest_dataset_name(name)}/"
    for path in files:
        s3.upload_file(str(path), bucket, folder + path.relative_to(out).as_posix())
    return f"s3://{bucket}/{folder}"


def _as_prepared(dataset: ManifestDataset, max_count: int) -> PreparedSplits:
    splits = {
        channel: [Sample(image_id, Path(f"{image_id}.jpg"), count) for image_id, count in labels.items()]
        for channel, labels in dataset.channels.items()
    }
    return PreparedSplits(splits=splits, synthetic_ids=frozenset(), max_count=max_count)
