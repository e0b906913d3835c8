"""The review Lambda's role as the counting stack synthesizes it, deployed under the review tests' names."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from iam_check.synth import templates
from iam_check.templates import Deployment, RolePolicy
from review_world import BIN_STATE_TABLE, BUCKET, EVENT_BUS, INVENTORY_TABLE

import lambdas.review

# Calls made from this code are the review Lambda's (the tests' own arranging calls are not).
REVIEW_CODE = Path(lambdas.review.__file__).resolve().parent
REVIEW_ROLE = "Review/Function/Role"
TEST_NAMES = {
    "Tables/Inventory": INVENTORY_TABLE,
    "Tables/BinState": BIN_STATE_TABLE,
    "Buckets/Ingest": BUCKET,
    "Events": EVENT_BUS,
}


def review_deployment() -> Deployment:
    return Deployment(templates(stage="test"), names=TEST_NAMES)


@cache
def review_role_policy() -> RolePolicy:
    """Synthesized on first use only: tests that make no AWS call never start the CDK."""
    return review_deployment().role_policy(REVIEW_ROLE)
