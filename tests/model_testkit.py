"""Helpers shared by the count-model tests of every tier: image files and bytes, the small training run.

`make_image_file` is a fixture: a tier's conftest imports it to offer it to its tests.
"""

from __future__ import annotations

import io
import random
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


def jpeg_bytes(count: int = 2, seed: int = 0, size: int = 128) -> bytes:
    buffer = io.BytesIO()
    render_bin_image(count, random.Random(seed), size=size).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def make_image_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a small real JPEG (or PNG) at a path relative to tmp_path."""

    def make(relative: str, count: int = 1) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        render_bin_image(count, random.Random(relative), size=48).save(path)
        return path

    return make
