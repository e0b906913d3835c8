"""Fixtures for the count model: generated data, a quickly trained model and an untrained packaged one."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from countnet.synthetic import write_synthetic_dataset
from model_testkit import (
    TEST_IMAGE_SIZE,
    TRAINING_FLAGS,
    TrainedModel,
    make_image_file,  # noqa: F401  (a fixture, offered to this folder's tests)
    run_train,
)

from binventory.local.model_server import load_inference_module
from binventory.toolkit.untrained_model import write_untrained_model_dir


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 generated bin photos of every count 0..5 (ABID layout, labelled synthetic)."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), per_class=40, max_count=5, seed=7)


@pytest.fixture(scope="session")
def trained_model(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """train.py run in-process on the generated images, with its printed output."""
    root = tmp_path_factory.mktemp("trained")
    exit_code, printed = run_train(
        [
            "--train",
            str(synthetic_dir),
            "--model-dir",
            str(root / "model"),
            "--output-data-dir",
            str(root / "output"),
            "--report-test",
            "true",
            *TRAINING_FLAGS,
        ]
    )
    assert exit_code == 0, printed
    return TrainedModel(root / "model", root / "output", printed)


@pytest.fixture(scope="session")
def packaged_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained lite0 written exactly as train.py writes a model: enough to exercise serving."""
    return write_untrained_model_dir(tmp_path_factory.mktemp("packaged"), TEST_IMAGE_SIZE)


@pytest.fixture(scope="session")
def inference(packaged_model_dir: Path) -> ModuleType:
    return load_inference_module(packaged_model_dir)


@pytest.fixture(scope="session")
def served_model(inference: ModuleType, packaged_model_dir: Path) -> object:
    return inference.model_fn(str(packaged_model_dir))
