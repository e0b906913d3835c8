"""`binventory data synth|prepare|upload`: the split, its manifest and plot, and the bucket layout."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from contracts import stack_outputs

PER_COUNT = 20  # images of each count 0..4


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    """labels.csv + images/ (the layout `data fetch` writes); ids zero-padded strings."""
    folder = tmp_path / "fetched"
    (folder / "images").mkdir(parents=True)
    rows = []
    for number in range(5 * PER_COUNT):
        image_id, count = f"{number:05d}", number % 5
        (folder / "images" / f"{image_id}.jpg").write_bytes(b"\xff\xd8" + image_id.encode() + b"\xff\xd9")
        rows.append((image_id, count))
    with (folder / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("image_id", "expected_quantity"), *rows])
    return folder


def read_manifest(out: Path) -> list[dict[str, str]]:
    with (out / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_prepare_splits_every_count_in_proportion_and_repeats_with_the_same_seed(
    labelled_folder: Path, tmp_path: Path, invoke: Any
) -> None:
    # when the same folder is prepared twice with one seed and once with another
    runs = {name: tmp_path / name for name in ("seed7", "seed7-again", "seed8")}
    for name, out in runs.items():
        seed = "8" if name == "seed8" else "7"
        result = invoke("data", "prepare", str(labelled_folder), "--out", str(out), "--seed", seed)
        assert result.exit_code == 0, result.output

    # then every count is split 80/10/10 and the splits partition the images
    manifest = read_manifest(runs["seed7"])
    per_split_and_count = Counter((row["split"], int(row["expected_quantity"])) for row in manifest)
    expected_sizes = {"train": 16, "validation": 2, "test": 2}
    assert per_split_and_count == {
        (split, count): size for split, size in expected_sizes.items() for count in range(5)
    }
    assert sorted(row["image_id"] for row in manifest) == [f"{n:05d}" for n in range(5 * PER_COUNT)]
    # and each split is a folder train.py reads: labels.csv plus its images
    for split in ("train", "validation", "test"):
        with (runs["seed7"] / split / "labels.csv").open() as handle:
            ids = [row["image_id"] for row in csv.DictReader(handle)]
        assert sorted(p.stem for p in (runs["seed7"] / split / "images").iterdir()) == sorted(ids)
    # and the same seed gives the same split, another seed another one
    assert read_manifest(runs["seed7-again"]) == manifest
    assert read_manifest(runs["seed8"]) != manifest
    # and the distribution is printed and plotted
    summary = json.loads((runs["seed7"] / "manifest.json").read_text())
    assert summary["distribution"]["validation"] == {str(c): 2 for c in range(5)}
    assert (runs["seed7"] / "class_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synth_writes_images_labelled_synthetic_with_their_counts(tmp_path: Path, invoke: Any) -> None:
    result = invoke("data", "synth", "--out", str(tmp_path / "syn"), "--per-class", "2", "--max-count", "2")

    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    metadata = [json.loads(p.read_text()) for p in sorted((tmp_path / "syn" / "metadata").glob("*.json"))]
    assert sorted(m["EXPECTED_QUANTITY"] for m in metadata) == [0, 0, 1, 1, 2, 2]
    assert all(m["SYNTHETIC"] is True for m in metadata)
    assert len(list((tmp_path / "syn" / "bin-images").glob("*.jpg"))) == 6


def test_upload_puts_each_split_under_its_channel_prefix_and_removes_stale_objects(
    labelled_folder: Path, tmp_path: Path, invoke: Any, s3: Any, set_stack_outputs: Any
) -> None:
    # given a prepared folder and a dataset bucket holding an image of an earlier preparation
    prepared = tmp_path / "prepared"
    assert invoke("data", "prepare", str(labelled_folder), "--out", str(prepared)).exit_code == 0
    s3.create_bucket(Bucket="dataset")
    s3.put_object(Bucket="dataset", Key="train/images/stale.jpg", Body=b"old")
    set_stack_outputs(**{stack_outputs.DATASET_BUCKET_NAME: "dataset"})

    # when it is uploaded, twice
    first = invoke("data", "upload", str(prepared))
    second = invoke("data", "upload", str(prepared))

    # then each split sits under the prefix its training channel reads, and nothing stale is left
    assert first.exit_code == 0, first.output
    keys = {item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket="dataset")["Contents"]}
    expected = {"manifest/manifest.csv", "manifest/manifest.json", "manifest/class_distribution.png"}
    for row in read_manifest(prepared):
        expected |= {f"{row['split']}/labels.csv", f"{row['split']}/images/{row['image_id']}.jpg"}
    assert keys == expected
    assert {f"{channel}/labels.csv" for channel in stack_outputs.DATASET_CHANNELS} <= keys
    # and a re-run uploads nothing that is already there
    assert f"uploaded 0, unchanged {len(expected)}" in second.output
