"""Helpers shared by the count-model tests of every tier: image files and bytes, the small training run.

`make_image_file` is a fixture: a tier's conftest imports it to offer it to its tests.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
import struct
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from countnet.synthetic import render_bin_image

# Small enough to train in seconds on 2 cores, large enough that the boxes stay countable.
TEST_IMAGE_SIZE = 64
TRAINING_FLAGS = (
    f"--image-size {TEST_IMAGE_SIZE} --epochs 8 --batch-size 16 --lr 0.003 --patience 9 --workers 0".split()
)


@dataclass
class TrainedModel:
    model_dir: Path
    output_dir: Path
    stdout: str


def run_train(argv: list[str]) -> tuple[int, str]:
    """train.py's `main` in this process: its exit code and everything it printed."""
    import train  # the SageMaker entry point (model_code/train.py); imported here, as it loads torch

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = train.main(argv)
    return code, printed.getvalue()


def jpeg_bytes(count: int = 2, seed: int = 0, size: int = 128) -> bytes:
    buffer = io.BytesIO()
    render_bin_image(count, random.Random(seed), size=size).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb, not a real picture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def write_abid_slice(abid_dir: Path, root: Path, per_count: int) -> Path:
    """labels.csv with the first `per_count` photos of counts 1..5 (ids as written), images/ linked to the
    sample."""
    picked: dict[int, list[str]] = defaultdict(list)
    with (abid_dir / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            count = int(row["expected_quantity"])
            if 1 <= count <= 5 and len(picked[count]) < per_count:
                picked[count].append(row["image_id"])
    root.mkdir()
    (root / "images").symlink_to(abid_dir / "images", target_is_directory=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "expected_quantity"])
        writer.writerows((image_id, count) for count, ids in sorted(picked.items()) for image_id in ids)
    return root


@pytest.fixture
def make_image_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a small real JPEG (or PNG) at a path relative to tmp_path."""

    def make(relative: str, count: int = 1) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        render_bin_image(count, random.Random(relative), size=48).save(path)
        return path

    return make
