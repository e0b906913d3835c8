"""Manifest datasets: what `binventory data manifest` writes and uploads, the training job's channels point
at, and train.py reads back, image for image and label for label.

Three parties share `contracts.manifest_layout`: the CLI writes `<channel>.manifest` and
`labels/<channel>.csv` under `manifests/<name>/`; the training stack's request gives the job one
`ManifestFile` channel per image channel and the `labels/` folder as a channel of its own; train.py finds a
channel's labels in the sibling labels channel. Here the CLI's files go through the job request the state
machine evaluates and are mounted as SageMaker mounts them; train.py must read back what the CLI wrote.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonata
import pytest
import train

from binventory.data import manifests
from binventory.training_jobs import manifest_runs
from contracts.deployment_settings import load_settings_from_cdk_json
from contracts.manifest_layout import ADDED_TRAIN_CHANNEL, IMAGE_CHANNELS, LABELS_CHANNEL
from stacks.training_pipeline.job_requests import TrainingJobTemplate

DATASET_BUCKET = "binventory-dev-dataset"
# "1013" and "01013" are different photos of the public bucket; ids stay strings end to end.
DATASET = manifests.ManifestDataset(
    "challenge",
    {
        "train": {"00001": 0, "01013": 3, "1013": 5, "535232": 2},
        "validation": {"00011": 1, "00012": 4},
        "test": {"00021": 2},
    },
    {"split": "challenge"},
)


class RecordingS3:
    """`upload_file` into a dict: s3 URI -> the local file uploaded there."""

    def __init__(self) -> None:
        self.objects: dict[str, Path] = {}

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        self.objects[f"s3://{bucket}/{key}"] = Path(path)


def cli_writes_and_uploads(out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """`binventory data manifest challenge --upload`'s files, by the S3 URI they were uploaded to."""
    # The class distribution plot is for people; no channel reads it, so it is not drawn here.
    monkeypatch.setattr(manifests, "plot_distribution", lambda splits, path, title: path)
    files = manifests.write_manifest_dataset(DATASET, out, max_count=5)
    s3 = RecordingS3()
    manifests.upload_manifest_dataset(s3, DATASET_BUCKET, out, files, DATASET.name)
    return s3.objects


def job_channels(name: str, input_mode: str, *, added_train: bool = False) -> list[dict[str, Any]]:
    """`InputDataConfig` of a training job on manifest dataset `name`, as Step Functions evaluates it."""
    template = TrainingJobTemplate(
        settings=load_settings_from_cdk_json().training,
        role_arn="arn:aws:iam::123456789012:role/sagemaker",
        image_uri="pytorch-training",
        source_uri="s3://assets/source.tar.gz",
        region="us-east-1",
        dataset_bucket=DATASET_BUCKET,
        artifacts_bucket="artifacts",
        stage="dev",
        rules_image_uri="503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest",
    )
    expression = template.input_data_config_choice("{% $states.input.manifest %}")
    run_input = {
        "manifest": {"name": name, "input_mode": input_mode, **({"added_train": True} if added_train else {})}
    }
    return jsonata.Jsonata(expression[3:-3]).evaluate({}, {"states": {"input": run_input}})


def mount(channels: list[dict[str, Any]], uploaded: dict[str, Path], data: Path) -> None:
    """Lay the channels out as SageMaker does under /opt/ml/input/data/<channel>/.

    A `ManifestFile` channel holds each listed object under its key relative to the manifest's prefix
    (the public images themselves are stood in for by empty files); an `S3Prefix` channel holds every
    object under the prefix, by its key relative to it.
    """
    for channel in channels:
        source = channel["DataSource"]["S3DataSource"]
        folder = data / channel["ChannelName"]
        folder.mkdir(parents=True)
        if source["S3DataType"] == "ManifestFile":
            prefix, *keys = json.loads(uploaded[source["S3Uri"]].read_text())
            assert prefix == {"prefix": manifests.PUBLIC_IMAGES_URI}
            for key in keys:
                (folder / key).write_bytes(b"")
        else:
            for uri, path in uploaded.items():
                if uri.startswith(source["S3Uri"]):
                    shutil.copy(path, folder / uri.removeprefix(source["S3Uri"]))


def test_train_py_reads_back_every_image_and_label_the_cli_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the CLI's manifest dataset in the dataset bucket, and the job the state machine starts on it
    uploaded = cli_writes_and_uploads(tmp_path / "out", monkeypatch)
    channels = job_channels(DATASET.name, "FastFile")
    assert [channel["ChannelName"] for channel in channels] == [*IMAGE_CHANNELS, LABELS_CHANNEL]

    # when SageMaker mounts the channels and train.py starts with no flags, as in the job
    data = tmp_path / "input" / "data"
    mount(channels, uploaded, data)
    for channel in channels:
        monkeypatch.setenv(f"SM_CHANNEL_{channel['ChannelName'].upper()}", str(data / channel["ChannelName"]))
    monkeypatch.delenv("SM_HPS", raising=False)
    splits = train._load_splits(train.parse_args([]))

    # then every channel is read with exactly the ids and counts the CLI wrote
    read = {name: {sample.image_id: sample.count for sample in part} for name, part in splits.items()}
    assert read == DATASET.channels


class DatasetBucket:
    """The dataset bucket as a dict: what `train start --add-manifest` copies and writes in it."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.files[Key])}

    def copy_object(self, CopySource: dict[str, str], Bucket: str, Key: str) -> None:
        self.files[Key] = self.files[CopySource["Key"]]

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.files[Key] = Body


def test_train_py_trains_on_a_base_dataset_plus_an_added_dataset_s_train_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the challenge dataset and a reviews dataset (photos in the dataset bucket), as the CLI writes them
    reviews = manifests.ManifestDataset(
        "reviews",
        {
            "train": {"bin-7-aaaa": 2, "bin-9-bbbb": 0},
            "validation": {"bin-3-cccc": 1},
            "test": {"bin-4-dddd": 4},
        },
        {"split": "reviews"},
        prefix=f"s3://{DATASET_BUCKET}/manifests/reviews/images/",
    )
    files: dict[str, bytes] = {}
    for dataset in (DATASET, reviews):
        monkeypatch.setattr(manifests, "plot_distribution", lambda splits, path, title: path)
        out = tmp_path / dataset.name
        for path in manifests.write_manifest_dataset(dataset, out, max_count=5):
            if path.is_file():
                files[f"manifests/{dataset.name}/{path.relative_to(out).as_posix()}"] = path.read_bytes()
    bucket = DatasetBucket(files)
    resources = SimpleNamespace(client=lambda service: bucket, output=lambda stack, output_id: DATASET_BUCKET)

    # when `train start --manifest challenge --add-manifest reviews` combines them, and the job mounts them
    name = manifest_runs.combine_manifest_datasets(resources, "challenge", "reviews")  # type: ignore[arg-type]
    channels = job_channels(name, "FastFile", added_train=True)
    data = tmp_path / "input" / "data"
    for channel in channels:
        source = channel["DataSource"]["S3DataSource"]
        key = source["S3Uri"].removeprefix(f"s3://{DATASET_BUCKET}/")
        folder = data / channel["ChannelName"]
        folder.mkdir(parents=True)
        if source["S3DataType"] == "ManifestFile":
            for image in json.loads(bucket.files[key])[1:]:
                (folder / image).write_bytes(b"")
        else:
            for stored, body in bucket.files.items():
                if stored.startswith(key):
                    (folder / stored.removeprefix(key)).write_bytes(body)
        monkeypatch.setenv(f"SM_CHANNEL_{channel['ChannelName'].upper()}", str(folder))
    monkeypatch.delenv("SM_HPS", raising=False)
    splits = train._load_splits(train.parse_args([]))

    # then train.py trains on both train parts, and validates and tests on the challenge's alone
    read = {part: {sample.image_id: sample.count for sample in samples} for part, samples in splits.items()}
    assert [c["ChannelName"] for c in channels] == [*IMAGE_CHANNELS, LABELS_CHANNEL, ADDED_TRAIN_CHANNEL]
    assert read == {
        "train": DATASET.channels["train"] | reviews.channels["train"],
        "validation": DATASET.channels["validation"],
        "test": DATASET.channels["test"],
    }
