"""The inventory's contract: tables and indexes, statuses, expectation sources, ingest keys, events, metrics.

The counting Lambda writes by it, the CDK stacks deploy the tables and notifications from it, and the
operator CLI and the local pipeline read and create the same tables from it, so a table created in moto
and a table deployed by CloudFormation cannot drift apart. The Lambda's environment lives beside it, in
`contracts.counter_environment`.
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


class UnroutableKey(ValueError):
    """The object key does not follow the layout, so no bin can be named for it."""


def bin_id_for_key(key: str) -> str:
    """The bin an image belongs to; `bin-images/01013.jpg` -> `01013` (never an int)."""
    if key.startswith(INCOMING_PREFIX):
        bin_id, _, file_name = key[len(INCOMING_PREFIX) :].partition("/")
        if bin_id and file_name:
            return bin_id
    elif key.startswith(ABID_IMAGES_PREFIX):
        image_id = _abid_image_id(key)
        if image_id:
            return image_id
    raise UnroutableKey(
        f"object key {key!r} names no bin: upload to {INCOMING_PREFIX}<bin_id>/<image file> "
        f"or {ABID_IMAGES_PREFIX}<image_id>.jpg"
    )


def abid_metadata_key(key: str) -> str | None:
    """`bin-images/00001.jpg` -> `metadata/00001.json`; None outside the ABID layout."""
    if not key.startswith(ABID_IMAGES_PREFIX):
        return None
    image_id = _abid_image_id(key)
    return f"{ABID_METADATA_PREFIX}{image_id}.json" if image_id else None


def record_key(bucket: str, key: str, version: str) -> str:
    """The inventory sort key of one object version: `<bucket>/<key>#<version id or etag>`."""
    return f"{bucket}/{key}#{version}"


def _abid_image_id(key: str) -> str:
    file_name = key[len(ABID_IMAGES_PREFIX) :]
    if "/" in file_name:
        return ""
    stem, dot, _extension = file_name.rpartition(".")
    return stem if dot else file_name


# --- Events ----------------------------------------------------------------------------------
EVENT_SOURCE = "binventory.counter"
EVENT_DETAIL_TYPES = {
    Status.MISMATCH: "Bin count mismatch",
    Status.LOW_CONFIDENCE: "Bin count low confidence",
}

# --- Metrics (CloudWatch embedded metric format, written by the counting Lambda) ----------
METRICS_NAMESPACE = "Binventory"


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
