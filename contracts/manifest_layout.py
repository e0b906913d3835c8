"""Where a manifest dataset's images and labels appear in the training container (SageMaker channels).

A SageMaker manifest lists objects of one bucket under one prefix, here the public ABID bucket's
`bin-images/`, so the labels cannot travel inside the image channels. They travel in a channel of
their own, `labels`, which holds one `<channel>.csv` (`image_id,expected_quantity`) per image
channel. SageMaker mounts every channel under the same folder (`/opt/ml/input/data/<channel>`), so
the labels of the `train` channel are at `../labels/train.csv` seen from the channel itself.

Standard library only: the CLI that writes manifests and the stack that builds the job's channels
import these names without PyTorch.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_CHANNELS = ("train", "validation", "test")
LABELS_CHANNEL = "labels"
MANIFEST_SUFFIX = ".manifest"
# A second dataset's training images (`train start --manifest challenge --add-manifest reviews`): the job's
# `train_added` channel, labelled by `labels/train_added.csv`, which train.py trains on beside `train`. Only
# the added dataset's train part is added: the base's validation and test still select and report.
ADDED_TRAIN_CHANNEL = "train_added"


def channel_environment_variable(channel: str) -> str:
    """`train_added` -> `SM_CHANNEL_TRAIN_ADDED`: the variable SageMaker names a channel's folder in."""
    return "SM_CHANNEL_" + channel.upper()


def labels_file_name(channel: str) -> str:
    """`train` -> `train.csv`: the labels of one image channel inside the labels channel."""
    return f"{channel}.csv"


def labels_file_for(channel_dir: Path) -> Path:
    """The labels CSV of the image channel mounted at `channel_dir` (its sibling labels channel)."""
    channel_dir = Path(channel_dir)
    return channel_dir.parent / LABELS_CHANNEL / labels_file_name(channel_dir.name)
