"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ABID_DIR = Path(__file__).resolve().parents[2] / "shared" / "abid"


@pytest.fixture(scope="session")
def abid_dir() -> Path:
    """The real ABID sample beside the checkout (../shared/abid); tests that need it skip without it."""
    if not (ABID_DIR / "labels.csv").is_file():
        pytest.skip(
            f"ABID sample not found at {ABID_DIR}: place ../shared/abid beside the checkout to run this test"
        )
    return ABID_DIR
