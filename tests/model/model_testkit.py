"""Helpers shared by the count-model tests: request bytes, the small training run's flags."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

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
