"""Helpers shared by the count-model tests: request bytes, loading inference.py as the container does."""

from __future__ import annotations

import importlib.util
import io
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

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


def load_inference_module(model_dir: Path) -> ModuleType:
    """Import `<model_dir>/code/inference.py` as the serving container does (code/ on sys.path)."""
    code_dir = str(model_dir / "code")
    sys.path.insert(0, code_dir)
    try:
        spec = importlib.util.spec_from_file_location(
            f"inference_{abs(hash(code_dir))}", model_dir / "code" / "inference.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(code_dir)
    return module
