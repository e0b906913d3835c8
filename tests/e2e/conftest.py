"""Fixtures for the local pipeline: one small trained model and synthetic data for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from countnet.synthetic import write_synthetic_dataset

from binventory.local.demo import DEMO_TRAIN_PER_CLASS, train_demo_model
from binventory.local.pipeline import LocalPipeline


@pytest.fixture(scope="session")
def synthetic_eval_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few synthetic bin images per count (0..5), unseen in training."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("eval"), per_class=3, max_count=5, seed=4242)


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model, trained briefly by model_code/train.py exactly as `make demo` trains it.

    BINVENTORY_E2E_MODEL names an already trained demo model to use instead (iterating on the e2e tier
    without training each session).
    """
    if os.environ.get("BINVENTORY_E2E_MODEL"):
        return Path(os.environ["BINVENTORY_E2E_MODEL"])
    root = tmp_path_factory.mktemp("demo-model")
    train_dir = write_synthetic_dataset(root / "train", per_class=DEMO_TRAIN_PER_CLASS, max_count=5, seed=1)
    return train_demo_model(train_dir, root / "model", root / "output")


@pytest.fixture
def pipeline(demo_model: Path, tmp_path: Path) -> Iterator[LocalPipeline]:
    """moto, the model server and the poller, running for one test."""
    with LocalPipeline(demo_model, work_dir=tmp_path) as running:
        yield running
