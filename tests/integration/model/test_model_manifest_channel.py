"""train.py reading manifest channels laid out as SageMaker mounts them with FastFile input.

Also: the loader reads a batch's files concurrently, which FastFile's per-file S3 wait needs.

With a ManifestFile channel, SageMaker exposes each listed object under the channel folder by its key
relative to the manifest's prefix (`s3://aft-vbi-pds/bin-images/01013.jpg` -> `<channel>/01013.jpg`);
the labels come in the `labels` channel beside it (`labels/<channel>.csv`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import train
from countnet.data import Sample, detect_layout, discover_dataset
from countnet.loading import BinImageDataset, make_loader
from countnet.model import default_preprocessing
from model_testkit import run_train

MakeImage = Callable[..., Path]
# channel -> (image id, count); "1013" and "01013" are different ABID photos.
CHANNELS = {
    "train": [("00001", 0), ("01013", 1), ("1013", 2), ("00004", 3), ("00005", 4), ("535232", 5)],
    "validation": [("00011", 1), ("00012", 3)],
    "test": [("00021", 2), ("00022", 5)],
}


def mount_manifest_channels(tmp_path: Path, make_image_file: MakeImage) -> Path:
    """`input/data/{train,validation,test}/<id>.jpg` and `labels/<channel>.csv`, as in the job."""
    data = tmp_path / "input" / "data"
    for channel, rows in CHANNELS.items():
        for image_id, count in rows:
            make_image_file(f"input/data/{channel}/{image_id}.jpg", count)
        labels = data / "labels" / f"{channel}.csv"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text(
            "image_id,expected_quantity\n" + "".join(f"{i},{c}\n" for i, c in rows), encoding="utf-8"
        )
    return data


def test_a_manifest_channel_is_read_by_key_with_its_labels_from_the_labels_channel(
    tmp_path: Path, make_image_file: MakeImage, caplog: pytest.LogCaptureFixture
) -> None:
    # given the train channel plus a label whose object the channel does not hold
    data = mount_manifest_channels(tmp_path, make_image_file)
    with (data / "labels" / "train.csv").open("a") as labels:
        labels.write("99999,3\n")

    # when
    with caplog.at_level(logging.WARNING):
        samples = discover_dataset(data / "train")

    # then ids stay strings (1013 is not 01013), each image keeps its own label and path
    assert detect_layout(data / "train") == "manifest_channel"
    assert {(s.image_id, s.count) for s in samples} == set(CHANNELS["train"])
    assert {s.image_id: s.path.name for s in samples}["01013"] == "01013.jpg"
    assert "99999" in caplog.text


def test_train_py_reads_manifest_channels_from_the_sagemaker_environment(
    tmp_path: Path, make_image_file: MakeImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the job's channel variables, as the training toolkit sets them
    data = mount_manifest_channels(tmp_path, make_image_file)
    for channel in CHANNELS:
        monkeypatch.setenv(f"SM_CHANNEL_{channel.upper()}", str(data / channel))
    monkeypatch.setenv("SM_CHANNEL_LABELS", str(data / "labels"))

    # when train.py parses no flags at all and loads its splits
    splits = train._load_splits(train.parse_args([]))

    # then every channel is read with its own labels
    assert {name: sorted((s.image_id, s.count) for s in part) for name, part in splits.items()} == {
        name: sorted(rows) for name, rows in CHANNELS.items()
    }


@pytest.mark.slow
def test_train_py_trains_from_manifest_channels(tmp_path: Path, make_image_file: MakeImage) -> None:
    # given a few images per count in the train channel (tiny, so one short epoch)
    data = mount_manifest_channels(tmp_path, make_image_file)
    rows = [(f"{index:05d}", index % 6) for index in range(100, 124)]
    for image_id, count in rows:
        make_image_file(f"input/data/train/{image_id}.jpg", count)
    with (data / "labels" / "train.csv").open("a") as labels:
        labels.writelines(f"{image_id},{count}\n" for image_id, count in rows)

    # when
    exit_code, printed = run_train(
        [
            *("--train", str(data / "train"), "--validation", str(data / "validation")),
            *("--test", str(data / "test"), "--model-dir", str(tmp_path / "model")),
            *("--image-size", "32", "--epochs", "1", "--batch-size", "8", "--workers", "0"),
            *("--pretrained", "none", "--export-onnx", "false", "--int8", "false"),
        ]
    )

    # then it trained on the manifest's images and wrote a model
    assert exit_code == 0, printed
    assert f"train: {len(CHANNELS['train']) + len(rows)} images" in printed
    assert (tmp_path / "model" / "model.pt").is_file()


def test_a_batch_is_read_by_several_threads_at_once(tmp_path: Path, make_image_file: MakeImage) -> None:
    # given a dataset whose every read waits for three other reads to be in flight (as S3 reads would)
    samples = [Sample(f"{i:05d}", make_image_file(f"images/{i:05d}.jpg", i % 6), i % 6) for i in range(8)]
    in_flight = threading.Barrier(4, timeout=10)

    class WaitingDataset(BinImageDataset):
        def _decode(self, index: int) -> tuple[torch.Tensor | None, str]:
            in_flight.wait()
            return super()._decode(index)

    dataset = WaitingDataset(samples, [s.count for s in samples], default_preprocessing("resnet18", 32))

    # when the DataLoader fetches one batch of all eight
    (batch,) = make_loader(dataset, batch_size=8, workers=0)

    # then the reads overlapped (sequential reads would break the barrier) and the order is kept
    assert batch.image_ids == [s.image_id for s in samples]
    assert batch.targets.tolist() == [s.count for s in samples]
