"""The one definition of Binventory's tables, events, key layout and Lambda environment.

The Lambda, the CDK stacks, the operator CLI and the local pipeline all import these names,
so a table created in moto and a table deployed by CloudFormation cannot drift apart.
This module imports nothing outside the standard library: it ships inside the Lambda asset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Reconciliation outcome of one bin image."""

    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    NO_EXPECTATION = "NO_EXPECTATION"
    INVALID_IMAGE = "INVALID_IMAGE"
    OBJECT_MISSING = "OBJECT_MISSING"


class ExpectedSource(StrEnum):
    """Where an item's expected quantity came from (`expected_source`), highest precedence first."""

    METADATA_JSON = "metadata_json"
    OBJECT_METADATA = "object_metadata"
    BIN_STATE = "bin_state"


def format_timestamp(moment: datetime) -> str:
    """`captured_at` / `processed_at` form: ISO-8601 UTC with fixed-width microseconds.

    Every timestamp in the tables has this one width, so string order is time order in the
    sort keys and in `--since` comparisons.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- Inventory table: one item per processed image version -------------------------------
# Partition by bin so a bin's history is one Query; the sort key is the object's identity
# (bucket, key, version), which makes the conditional put the idempotency check.
INVENTORY_PARTITION_KEY = "bin_id"
INVENTORY_SORT_KEY = "record_key"
# LSI: a bin's history in capture order (`inventory show BIN`).
BY_CAPTURE_TIME_INDEX = "by-captured-at"
# GSI: every record of one status in capture order (`inventory mismatches --since`).
BY_STATUS_INDEX = "by-status"
CAPTURED_AT = "captured_at"
STATUS = "status"

# --- Bin state table: one item per bin ----------------------------------------------------
# Holds the expected quantity loaded from the warehouse system and the latest reconciliation,
# so `inventory bins` reads one small item per bin instead of every image ever taken.
BIN_STATE_PARTITION_KEY = "bin_id"

# --- Ingest bucket key layout --------------------------------------------------------------
# incoming/<bin_id>/<image file>   the bin id is the folder
# bin-images/<image_id>.jpg        ABID layout: the bin id is the image id (a string, never an int)
# metadata/<image_id>.json         ABID metadata beside the images (EXPECTED_QUANTITY); not notified
INCOMING_PREFIX = "incoming/"
ABID_IMAGES_PREFIX = "bin-images/"
ABID_METADATA_PREFIX = "metadata/"
NOTIFIED_PREFIXES = (INCOMING_PREFIX, ABID_IMAGES_PREFIX)
EXPECTED_QUANTITY_METADATA_KEY = "expected-quantity"  # x-amz-meta-expected-quantity

# --- Events ----------------------------------------------------------------------------------
EVENT_SOURCE = "binventory.counter"
EVENT_DETAIL_TYPES = {
    Status.MISMATCH: "Bin count mismatch",
    Status.LOW_CONFIDENCE: "Bin count low confidence",
}

# --- Metrics (CloudWatch embedded metric format, written by the counting Lambda) ----------
METRICS_NAMESPACE = "Binventory"
SERVICE_NAME = "binventory-counter"  # Powertools' service name: logs, traces and metrics


class CounterMetric:
    """Names of the counting Lambda's metrics (all counts), for dashboards and alarms."""

    RECORDS_WRITTEN = "RecordsWritten"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    FAILED_MESSAGES = "FailedMessages"  # SQS retries them, then moves them to the DLQ
    DEFERRED_MESSAGES = "DeferredMessages"  # not reached before the invocation's deadline; SQS retries them
    TEST_EVENTS = "S3TestEvents"

    @staticmethod
    def for_status(status: Status) -> str:
        """`Status.LOW_CONFIDENCE` -> `StatusLowConfidence`: one count per reconciliation outcome."""
        return "Status" + status.value.title().replace("_", "")


class LambdaEnv:
    """Names of the counting Lambda's environment variables (set by the stack, read at cold start)."""

    INVENTORY_TABLE = "INVENTORY_TABLE"
    BIN_STATE_TABLE = "BIN_STATE_TABLE"
    ENDPOINT_NAME = "ENDPOINT_NAME"
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    CONFIDENCE_THRESHOLD = "CONFIDENCE_THRESHOLD"
    MISMATCH_BELOW = "MISMATCH_BELOW"  # optional: overrides the model's calibrated threshold
    MAX_IMAGE_BYTES = "MAX_IMAGE_BYTES"


def counter_environment(
    *,
    inventory_table: str,
    bin_state_table: str,
    endpoint_name: str,
    event_bus_name: str,
    confidence_threshold: float,
    max_image_bytes: int,
    mismatch_below: float | None,
) -> dict[str, str]:
    """The counting Lambda's environment: what the stack deploys and what local runs and tests use."""
    environment = {
        LambdaEnv.INVENTORY_TABLE: inventory_table,
        LambdaEnv.BIN_STATE_TABLE: bin_state_table,
        LambdaEnv.ENDPOINT_NAME: endpoint_name,
        LambdaEnv.EVENT_BUS_NAME: event_bus_name,
        LambdaEnv.CONFIDENCE_THRESHOLD: str(confidence_threshold),
        LambdaEnv.MAX_IMAGE_BYTES: str(max_image_bytes),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }
    if mismatch_below is not None:
        environment[LambdaEnv.MISMATCH_BELOW] = str(mismatch_below)
    return environment


def inventory_table_definition() -> dict[str, Any]:
    """Key schema and indexes of the inventory table, in `dynamodb.create_table` form."""
    return {
        "AttributeDefinitions": [
            {"AttributeName": INVENTORY_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": INVENTORY_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": CAPTURED_AT, "AttributeType": "S"},
            {"AttributeName": STATUS, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": INVENTORY_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": INVENTORY_SORT_KEY, "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": BY_CAPTURE_TIME_INDEX,
                "KeySchema": [
                    {"AttributeName": INVENTORY_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": CAPTURED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": STATUS, "KeyType": "HASH"},
                    {"AttributeName": CAPTURED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def bin_state_table_definition() -> dict[str, Any]:
    """Key schema of the bin state table, in `dynamodb.create_table` form."""
    return {
        "AttributeDefinitions": [{"AttributeName": BIN_STATE_PARTITION_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": BIN_STATE_PARTITION_KEY, "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
