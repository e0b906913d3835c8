"""Turn a labelled image folder into the train/validation/test channels train.py reads.

Each split becomes `<out>/<split>/labels.csv` + `<out>/<split>/images/<id>.<ext>` (the labels-CSV
layout `countnet.data.discover_dataset` reads), beside a manifest and a class-distribution picture.
Reading and splitting reuse countnet's code, so the CLI and training agree on labels and ids.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from countnet.data import Sample, discover_dataset
from countnet.splits import cap_per_class, stratified_split
from countnet.synthetic import SYNTHETIC_ID_PREFIX

from binventory.data.layout import IMAGES_DIR, LABELS_CSV, MANIFEST_CSV, MANIFEST_JSON, SPLIT_NAMES


@dataclass(frozen=True)
class PrepareOptions:
    fractions: tuple[float, ...]
    seed: int
    balance: str  # "none" or "cap" (cap the train split's classes)
    cap: int | None = None
    # Counts above this form one class when balancing and one column when reporting (ABID's tail is long).
    max_count: int = 5


@dataclass(frozen=True)
class PreparedSplits:
    splits: dict[str, list[Sample]]
    synthetic_ids: frozenset[str]
    max_count: int

    def class_label(self, count: int) -> str:
        return str(count) if count <= self.max_count else f">{self.max_count}"

    def class_labels(self) -> list[str]:
        present = {min(s.count, self.max_count + 1) for samples in self.splits.values() for s in samples}
        return [self.class_label(count) for count in sorted(present)]

    def distribution(self) -> dict[str, dict[str, int]]:
        """split -> class label ("0".."N", ">N") -> images."""
        labels = self.class_labels()
        return {
            name: {label: Counter(self.class_label(s.count) for s in samples)[label] for label in labels}
            for name, samples in self.splits.items()
        }


def split_samples(source: Path, options: PrepareOptions) -> PreparedSplits:
    """Read the source, split it stratified by count with the seed, and optionally cap the train split."""
    samples = discover_dataset(source)
    parts = stratified_split(samples, options.fractions, options.seed)
    splits = dict(zip(SPLIT_NAMES, parts, strict=False))
    if options.balance == "cap":
        splits["train"] = cap_per_class(
            splits["train"],
            seed=options.seed,
            cap=options.cap,
            class_of=lambda sample: min(sample.count, options.max_count + 1),
        )
    return PreparedSplits(
        splits=splits, synthetic_ids=frozenset(_synthetic_ids(samples)), max_count=options.max_count
    )


def write_splits(prepared: PreparedSplits, out: Path, source: Path, options: PrepareOptions) -> None:
    """Copy each split's images and write its labels.csv, then the manifest (CSV + JSON summary)."""
    for name, samples in prepared.splits.items():
        images = out / name / IMAGES_DIR
        images.mkdir(parents=True)
        with (out / name / LABELS_CSV).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("image_id", "expected_quantity"))
            for sample in samples:
                shutil.copy2(sample.path, images / f"{sample.image_id}{sample.path.suffix.lower()}")
                writer.writerow((sample.image_id, sample.count))
    with (out / MANIFEST_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image_id", "expected_quantity", "split", "synthetic", "source_path"))
        for name, samples in prepared.splits.items():
            for sample in samples:
                writer.writerow(
                    (
                        sample.image_id,
                        sample.count,
                        name,
                        str(sample.image_id in prepared.synthetic_ids).lower(),
                        str(sample.path),
                    )
                )
    summary = {
        "source": str(source),
        "seed": options.seed,
        "fractions": dict(zip(SPLIT_NAMES, options.fractions, strict=False)),
        "balance": options.balance,
        "cap": options.cap,
        "max_count": options.max_count,
        "synthetic_images": len(prepared.synthetic_ids),
        "distribution": prepared.distribution(),
    }
    (out / MANIFEST_JSON).write_text(json.dumps(summary, indent=2) + "\n")


def plot_distribution(prepared: PreparedSplits, path: Path, title: str) -> Path:
    """Grouped bars: images per count, one bar per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    distribution = prepared.distribution()
    counts = prepared.class_labels()
    width = 0.8 / len(distribution)
    figure, axes = plt.subplots(figsize=(max(6.0, 0.45 * len(counts) + 2), 4))
    for offset, (name, per_split) in enumerate(distribution.items()):
        positions = [i + (offset - (len(distribution) - 1) / 2) * width for i in range(len(counts))]
        heights = [per_split.get(c, 0) for c in counts]
        axes.bar(positions, heights, width, label=f"{name} ({sum(heights)})")
    axes.set_xticks(range(len(counts)), counts)
    axes.set_xlabel("items in the bin (expected quantity)")
    axes.set_ylabel("images")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def parse_fractions(text: str) -> tuple[float, ...]:
    """`"0.8,0.1,0.1"` -> (0.8, 0.1, 0.1): train, validation and optionally test."""
    try:
        fractions = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise ValueError(f"{text!r} is not comma-separated numbers such as 0.8,0.1,0.1") from error
    if len(fractions) not in (2, 3) or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"{text!r}: give 2 or 3 non-negative fractions (train,validation[,test]) summing to 1"
        )
    return fractions


def _synthetic_ids(samples: Sequence[Sample]) -> set[str]:
    """Ids generated by countnet.synthetic: by their prefix, or by the SYNTHETIC flag in their metadata."""
    synthetic = set()
    for sample in samples:
        metadata = sample.path.parent.parent / "metadata" / f"{sample.image_id}.json"
        if sample.image_id.startswith(SYNTHETIC_ID_PREFIX) or _flagged_synthetic(metadata):
            synthetic.add(sample.image_id)
    return synthetic


def _flagged_synthetic(metadata: Path) -> bool:
    try:
        return bool(json.loads(metadata.read_text()).get("SYNTHETIC", False))
    except (OSError, ValueError, AttributeError):
        return False
