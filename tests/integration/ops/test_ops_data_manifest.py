"""`binventory data manifest`: SageMaker manifests over the public ABID bucket, with their labels.

Against moto: the public bucket as an anonymous client sees it, and the stage's dataset bucket.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from public_bucket_reads import record_public_reads

from binventory.data import public_bucket
from contracts import stack_outputs
from contracts.abid_labels import challenge_image_id

DATASET_BUCKET = "binventory-dev-dataset"
PREFIX_LINE = '[{"prefix": "s3://aft-vbi-pds/bin-images/"},'
# The challenge's pairs: 48 train images (8 of each count 0..5), 6 val images; index i is image i + 1.
TRAIN_PAIRS = [[index, index % 6] for index in range(48)]
VAL_PAIRS = [[index, index % 6] for index in range(1000, 1006)]
NOT_IN_BUCKET = 47  # train index whose image the bucket lacks (image "00048")


@pytest.fixture
def public_abid(s3: Any) -> str:
    """The public bucket with the challenge's images (all but one) and a metadata file per image."""
    s3.create_bucket(Bucket=public_bucket.PUBLIC_BUCKET, ACL="public-read")
    for index, count in TRAIN_PAIRS + VAL_PAIRS:
        if index == NOT_IN_BUCKET:
            continue
        image_id = challenge_image_id(index)
        put_public(s3, f"bin-images/{image_id}.jpg", b"\xff\xd8" + image_id.encode() + b"\xff\xd9")
        put_public(s3, f"metadata/{image_id}.json", json.dumps({"EXPECTED_QUANTITY": count}).encode())
    return public_bucket.PUBLIC_BUCKET


def put_public(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=public_bucket.PUBLIC_BUCKET, Key=key, Body=body, ACL="public-read")


@pytest.fixture
def dataset_bucket(s3: Any, set_stack_outputs: Any) -> str:
    s3.create_bucket(Bucket=DATASET_BUCKET)
    set_stack_outputs(**{stack_outputs.DATASET_BUCKET_NAME: DATASET_BUCKET})
    return DATASET_BUCKET


@pytest.fixture
def challenge_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "aux"
    folder.mkdir()
    (folder / "abid_challenge_counting_train.json").write_text(json.dumps(TRAIN_PAIRS))
    (folder / "abid_challenge_counting_val.json").write_text(json.dumps(VAL_PAIRS))
    return folder


def uploaded(name: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    prefix = f"manifests/{name}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=DATASET_BUCKET, Prefix=prefix).get("Contents", [])]
    return {key[len(prefix) :]: s3.get_object(Bucket=DATASET_BUCKET, Key=key)["Body"].read() for key in keys}


def labels_of(body: bytes) -> dict[str, int]:
    rows = csv.DictReader(body.decode().splitlines())
    return {row["image_id"]: int(row["expected_quantity"]) for row in rows}


def test_data_manifest_challenge_writes_the_split_s_manifests_and_labels_to_the_dataset_bucket(
    public_abid: str, dataset_bucket: str, challenge_dir: Path, tmp_path: Path, invoke: Any
) -> None:
    # when
    result = invoke(
        "data", "manifest", "--split", "challenge", "--challenge-dir", str(challenge_dir),
        "--out", str(tmp_path / "out"), "--val-fraction", "0.25",
    )  # fmt: skip

    # then every channel's manifest lists public images, with the labels channel beside them
    assert result.exit_code == 0, result.output
    files = uploaded("challenge")
    assert set(files) == {
        "train.manifest", "validation.manifest", "test.manifest", "labels/train.csv", "labels/validation.csv",
        "labels/test.csv", "summary.json", "class_distribution.png",
    }  # fmt: skip
    channels = {}
    for channel in ("train", "validation", "test"):
        manifest = files[f"{channel}.manifest"].decode()
        assert manifest.splitlines()[0] == PREFIX_LINE
        keys = json.loads(manifest)[1:]
        channels[channel] = labels_of(files[f"labels/{channel}.csv"])
        assert keys == [f"{image_id}.jpg" for image_id in sorted(channels[channel])]
    # the challenge's val is the test set; validation is a stratified quarter of its train, apart from train
    assert channels["test"] == {challenge_image_id(i): c for i, c in VAL_PAIRS}
    train_and_validation = {**channels["train"], **channels["validation"]}
    assert train_and_validation == {challenge_image_id(i): c for i, c in TRAIN_PAIRS if i != NOT_IN_BUCKET}
    assert not set(channels["train"]) & set(channels["validation"])
    assert sorted(Counter(channels["validation"].values()).values()) == [2] * 6
    # and the image the bucket lacks is left out, by name
    assert "left out 1 train image(s) the bucket does not hold: 00048" in result.output
    summary = json.loads(files["summary.json"])
    assert summary["images"] == {"train": 35, "validation": 12, "test": 6}
    assert summary["distribution"]["test"] == {str(count): 1 for count in range(6)}
    # and the counts per class, the plan and the next command are printed
    assert "images per count" in result.output
    assert "plan: challenge on ml." in result.output
    assert "binventory train start --manifest challenge" in result.output


def test_data_manifest_metadata_labels_each_image_as_training_does_and_resumes(
    public_abid: str, dataset_bucket: str, tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given metadata the training reader labels by its items when EXPECTED_QUANTITY is absent, a broken file,
    # and two different photos whose ids are equal as integers
    s3 = boto3.client("s3")
    for image_id, metadata in {
        "1013": {"BIN_FCSKU_DATA": {"A": {"quantity": 2}, "B": {"quantity": 5}}},
        "01013": {"EXPECTED_QUANTITY": 1},
    }.items():
        put_public(s3, f"bin-images/{image_id}.jpg", b"\xff\xd8\xff\xd9")
        put_public(s3, f"metadata/{image_id}.json", json.dumps(metadata).encode())
    put_public(s3, "metadata/00002.json", b"{not json")
    out = tmp_path / "out"
    arguments = ("data", "manifest", "--split", "metadata", "--out", str(out), "--fractions", "0.5,0.25,0.25")

    # when the network drops after 20 metadata reads
    first_reads = record_public_reads(monkeypatch, fail_after=20)
    interrupted = invoke(*arguments, "--workers", "1")

    # then the run stops, saying how to resume
    assert interrupted.exit_code == 1
    assert "re-run the same command" in interrupted.output

    # when it is run again
    second_reads = record_public_reads(monkeypatch)
    resumed = invoke(*arguments, "--workers", "4")

    # then it reads only what the first run did not answer, and labels every image by the training rule
    assert resumed.exit_code == 0, resumed.output
    assert not set(second_reads) & set(first_reads[:20])
    files = uploaded("metadata")
    labels = {}
    for channel in ("train", "validation", "test"):
        labels.update(labels_of(files[f"labels/{channel}.csv"]))
    assert labels["1013"] == 7 and labels["01013"] == 1
    assert "00002" not in labels and "00048" not in labels  # broken metadata; no image in the bucket
    assert len(labels) == 54  # the 53 challenge images in the bucket, less 00002, plus 1013 and 01013
    assert "left out 00002: not valid JSON" in resumed.output
    distribution = json.loads(files["summary.json"])["distribution"]
    assert sum(per_count.get(">5", 0) for per_count in distribution.values()) == 1


def test_data_manifest_refuses_a_bad_name_before_doing_anything(invoke: Any, tmp_path: Path) -> None:
    result = invoke("data", "manifest", "--split", "challenge", "--name", "Challenge_1", "--no-upload")

    assert result.exit_code == 2
    assert "lower-case letters, digits and dashes" in result.output
