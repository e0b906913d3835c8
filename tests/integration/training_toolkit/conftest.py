"""SageMaker's training toolkit, and a small ABID slice in the dataset bucket's layout to train on."""

from __future__ import annotations

from pathlib import Path

import pytest
from model_testkit import write_abid_slice
from training_testkit import ToolkitUnavailable, check_toolkit

from binventory.data.prepare import PrepareOptions, split_samples, write_splits

PHOTOS_PER_COUNT = 8  # counts 1..5: 40 real photos, 30 to train on and 10 to validate
SPLIT_FRACTIONS = (0.75, 0.25)  # `binventory data prepare --fractions 0.75,0.25`


@pytest.fixture(scope="session")
def training_toolkit() -> Path:
    try:
        return check_toolkit()
    except ToolkitUnavailable as problem:
        pytest.skip(f"SageMaker training toolkit unavailable: {problem}")


@pytest.fixture(scope="session")
def abid_dataset_bucket(abid_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset bucket's contents after `binventory data prepare` + `upload` of a small ABID slice:
    `train/` and `validation/`, each labels.csv + images/."""
    root = tmp_path_factory.mktemp("abid-bucket")
    source = write_abid_slice(abid_dir, root / "slice", PHOTOS_PER_COUNT)
    options = PrepareOptions(fractions=SPLIT_FRACTIONS, seed=0, balance="none")
    bucket = root / "bucket"
    write_splits(split_samples(source, options), bucket, source, options)
    return bucket
