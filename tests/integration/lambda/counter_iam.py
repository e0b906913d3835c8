"""The counting Lambda's role as the counting stack synthesizes it, deployed under the tests' names."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from counter_world import BIN_STATE_TABLE, BUCKET, EVENT_BUS, INVENTORY_TABLE
from iam_check.synth import templates
from iam_check.templates import Deployment, RolePolicy

import lambdas.counter

# The tests' ingest queue is named like the bucket (counter_world).
# Calls made from this code are the Lambda's (the tests' own arranging and asserting calls are not).
LAMBDA_CODE = Path(lambdas.counter.__file__).resolve().parent
COUNTER_ROLE = "Counter/Role"
# Stage "test" names the endpoint binventory-test-counter, the ENDPOINT the tests configure.
STAGE = "test"
TEST_NAMES = {
    "Tables/Inventory": INVENTORY_TABLE,
    "Tables/BinState": BIN_STATE_TABLE,
    "Buckets/Ingest": BUCKET,
    "Events": EVENT_BUS,
    # The ingest queue, where a deferred message is sent again.
    "Ingest/Queue": BUCKET,
}


def counting_deployment() -> Deployment:
    return Deployment(templates(stage=STAGE), names=TEST_NAMES)


@cache
def counter_role_policy() -> RolePolicy:
    """Synthesized on first use only: tests that make no AWS call never start the CDK."""
    return counting_deployment().role_policy(COUNTER_ROLE)
