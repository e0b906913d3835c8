"""cdk.json's context as `npx cdk synth` reads it, plus `-c`-style overrides: for settings and stack tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
MODEL_PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-prod-countnet/3"
# A production stage with a published model: real-time endpoint, data capture, retained data.
PROD_WITH_MODEL = {
    "stage": "prod",
    "model_package_arn": MODEL_PACKAGE_ARN,
    "binventory.endpoint.data_capture": "true",
}


def context_with(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """cdk.json's context plus `-c`-style overrides (values as the CLI would pass them)."""
    return {**CDK_CONTEXT, **overrides}
