"""Session-wide synthesized apps: each takes seconds, so every stack test shares them."""

from __future__ import annotations

import pytest
from stacks_testkit import PROD_WITH_MODEL, SynthesizedApp, synthesize


@pytest.fixture(scope="session")
def dev_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """cdk.json as committed: stage dev, serverless endpoint, no model published yet."""
    return synthesize({}, tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """Stage prod with a model package: real-time endpoint, autoscaling, data capture, retained data."""
    return synthesize(PROD_WITH_MODEL, tmp_path_factory.mktemp("cdk-prod"))
