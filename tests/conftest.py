"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
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


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> str:
    """Dummy credentials in us-east-1, no profile and no endpoint overrides: nothing can reach real AWS."""
    region = "us-east-1"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    return region
