"""What the local pipeline drops into the ingest bucket: labelled bin images, planted errors, bad files.

A plan records, for every object, what the warehouse expects and (where known) the true count,
so the report can say how many planted inventory errors the system caught.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from countnet.data import discover_dataset

from binventory.local.pipeline import Upload
from contracts import abid_labels, inventory_schema

# Where the expected quantity comes from, cycled over the images so every source is exercised.
EXPECTATION_SOURCES = ("object_metadata", "bin_state", "metadata_json")
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


@dataclass(frozen=True)
class PlannedImage:
    """One object the plan uploads, with what the outcome should be."""

    key: str
    bin_id: str
    image_id: str
    true_count: int | None
    expected: int | None
    expected_via: str
    planted_error: bool = False
    invalid_reason: str | None = None
    source_path: Path | None = None


@dataclass
class UploadPlan:
    """Objects to upload, sidecar metadata to upload first, and expected quantities for the bin table."""

    images: list[PlannedImage] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    sidecars: list[Upload] = field(default_factory=list)
    expected_rows: list[tuple[str, int]] = field(default_factory=list)

    def add(self, planned: PlannedImage, upload: Upload) -> None:
        self.images.append(planned)
        self.uploads.append(upload)


def plan_from_dataset(
    dataset_dir: Path,
    *,
    limit: int | None,
    plant_error_fraction: float,
    seed: int,
    include_bad_files: bool,
    image_ids: set[str] | None = None,
) -> UploadPlan:
    """Plan uploads of a labelled image folder (any layout `countnet.data` reads), or of its `image_ids`."""
    samples = sorted(discover_dataset(dataset_dir), key=lambda s: s.image_id)
    if image_ids is not None:
        samples = [sample for sample in samples if sample.image_id in image_ids]
    if not samples:
        raise ValueError(
            f"No labelled images found in {dataset_dir}: expected an ABID-style folder "
            "(bin-images/ + metadata/), a labels CSV, or one folder per count."
        )
    rng = random.Random(seed)
    if limit is not None and limit < len(samples):
        samples = rng.sample(samples, limit)
    plan = UploadPlan()
    planted = set(rng.sample(range(len(samples)), round(plant_error_fraction * len(samples))))
    for index, sample in enumerate(samples):
        via = EXPECTATION_SOURCES[index % len(EXPECTATION_SOURCES)]
        expected = sample.count
        if index in planted:
            expected = _plausible_wrong_count(sample.count, rng)
        suffix = sample.path.suffix.lower()
        content_type = CONTENT_TYPES.get(suffix, "image/jpeg")
        body = sample.path.read_bytes()
        if via == "metadata_json":
            # ABID layout: the image id is the bin id and the metadata sits beside the image.
            key = f"{inventory_schema.ABID_IMAGES_PREFIX}{sample.image_id}{suffix}"
            bin_id = sample.image_id
            plan.sidecars.append(
                Upload(
                    key=f"{inventory_schema.ABID_METADATA_PREFIX}{sample.image_id}.json",
                    body=json.dumps(
                        {abid_labels.EXPECTED_QUANTITY_FIELD: expected, abid_labels.ITEMS_FIELD: {}}
                    ).encode(),
                    content_type="application/json",
                )
            )
            metadata: dict[str, str] = {}
        else:
            bin_id = f"bin-{index:04d}"
            key = f"{inventory_schema.INCOMING_PREFIX}{bin_id}/{sample.image_id}{suffix}"
            metadata = (
                {inventory_schema.EXPECTED_QUANTITY_METADATA_KEY: str(expected)}
                if via == "object_metadata"
                else {}
            )
            if via == "bin_state":
                plan.expected_rows.append((bin_id, expected))
        plan.add(
            PlannedImage(
                key=key,
                bin_id=bin_id,
                image_id=sample.image_id,
                true_count=sample.count,
                expected=expected,
                expected_via=via,
                planted_error=index in planted,
                source_path=sample.path,
            ),
            Upload(key=key, body=body, content_type=content_type, metadata=metadata),
        )
    if include_bad_files:
        _add_bad_files(plan, next(iter(samples)).path)
    return plan


def _add_bad_files(plan: UploadPlan, a_real_photo: Path) -> None:
    """Objects a careless upload produces; each must end as INVALID_IMAGE or NO_EXPECTATION, never lost."""
    a_real_jpeg = a_real_photo.read_bytes()
    bad = [
        ("bin-bad-text", "notes.jpg", b"this is a packing note, not a photo\n", "not an image"),
        ("bin-bad-empty", "empty.jpg", b"", "zero bytes"),
        ("bin-bad-truncated", "truncated.jpg", a_real_jpeg[: len(a_real_jpeg) // 3], "truncated JPEG"),
    ]
    for bin_id, name, body, reason in bad:
        key = f"{inventory_schema.INCOMING_PREFIX}{bin_id}/{name}"
        plan.add(
            PlannedImage(
                key=key,
                bin_id=bin_id,
                image_id=name,
                true_count=None,
                expected=3,
                expected_via="object_metadata",
                invalid_reason=reason,
            ),
            Upload(key=key, body=body, metadata={inventory_schema.EXPECTED_QUANTITY_METADATA_KEY: "3"}),
        )
    key = f"{inventory_schema.INCOMING_PREFIX}bin-unknown/photo.jpg"
    plan.add(
        PlannedImage(
            key=key,
            bin_id="bin-unknown",
            image_id="photo.jpg",
            true_count=None,
            expected=None,
            expected_via="none",
            source_path=a_real_photo,  # a valid photo: the report shows it
        ),
        Upload(key=key, body=a_real_jpeg),
    )


def _plausible_wrong_count(true_count: int, rng: random.Random) -> int:
    """A wrong expectation as a warehouse makes them: off by one or two, never negative."""
    candidates = [c for c in (true_count - 2, true_count - 1, true_count + 1, true_count + 2) if c >= 0]
    return rng.choice(candidates)
