"""The inventory's contract: tables, attributes, statuses and their look, reviews, keys, events, metrics.

The counting Lambda writes by it, the review Lambda resolves flags by it, the CDK stacks deploy the tables
and notifications from it, and the operator CLI, the local pipeline, the local report and the review page
read and create the same tables from it, so a table created in moto and a table deployed by
CloudFormation cannot drift apart, and adding a status touches this module alone (the agreement tests name
any part that forgot it). The Lambdas' environments live beside it (`contracts.counter_environment`,
`contracts.review_environment`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


# A flag sends a person to the bin: the counting Lambda announces these, the review queue holds them,
# and the reports count them as a catch on a wrong expectation and as a false alarm on a right one.
FLAGGED_STATUSES = frozenset({Status.MISMATCH, Status.LOW_CONFIDENCE})


@dataclass(frozen=True)
class Presentation:
    """How one status or review outcome looks wherever it is shown: one colour, one short description.

    `colour` is a hex colour (the HTML report and the review page); `style` the rich style of the CLI's
    tables, the same hue.
    """

    colour: str
    style: str
    description: str


STATUS_PRESENTATION: Mapping[Status, Presentation] = {
    Status.MATCH: Presentation("#2e7d32", "green", "the expected quantity looks right"),
    Status.MISMATCH: Presentation("#c62828", "bold red", "the model is sure of another count"),
    Status.LOW_CONFIDENCE: Presentation("#ef6c00", "dark_orange", "the model doubts the expected quantity"),
    Status.NO_EXPECTATION: Presentation("#757575", "grey50", "no expected quantity to compare with"),
    Status.INVALID_IMAGE: Presentation("#6a1b9a", "magenta", "the file is not a usable image"),
    Status.OBJECT_MISSING: Presentation("#4e342e", "orange4", "the photo was deleted before it was read"),
}


class ExpectedSource(StrEnum):
    """Where an expected quantity came from (`expected_source`), highest precedence first.

    A record names one of the first three; the bin state's `expected_source` is `review` when a reviewer
    corrected the bin (absent when the warehouse export loaded it).
    """

    METADATA_JSON = "metadata_json"
    OBJECT_METADATA = "object_metadata"
    BIN_STATE = "bin_state"
    REVIEW = "review"


class ReviewOutcome(StrEnum):
    """What a person found at a flagged bin (`review_outcome`)."""

    CONFIRMED = "CONFIRMED"  # the expected quantity was right
    CORRECTED = "CORRECTED"  # the bin really holds `reviewed_count`
    UNREADABLE = "UNREADABLE"  # the photo cannot be judged


REVIEW_PRESENTATION: Mapping[ReviewOutcome, Presentation] = {
    ReviewOutcome.CONFIRMED: Presentation("#2e7d32", "green", "the expected quantity was right"),
    ReviewOutcome.CORRECTED: Presentation("#1565c0", "blue", "the bin holds another count"),
    ReviewOutcome.UNREADABLE: Presentation("#757575", "grey50", "the photo cannot be judged"),
}
# A reviewed count is a whole number of items from 0 to this (a bin of more is a data-entry slip).
MAX_REVIEWED_COUNT = 999
MAX_REVIEW_NOTE_CHARS = 500


class RecordAttr:
    """Attribute names of an inventory item (one per image version); see docs/ARCHITECTURE.md."""

    BIN_ID = "bin_id"
    RECORD_KEY = "record_key"
    IMAGE_BUCKET = "image_bucket"
    IMAGE_KEY = "image_key"
    IMAGE_VERSION = "image_version"
    CAPTURED_AT = "captured_at"
    PROCESSED_AT = "processed_at"
    STATUS = "status"
    REASON = "reason"
    PREDICTED_COUNT = "predicted_count"
    PREDICTED_LABEL = "predicted_label"
    CONFIDENCE = "confidence"
    PROBABILITIES = "probabilities"
    MODEL_VERSION = "model_version"
    EXPECTED_QUANTITY = "expected_quantity"
    EXPECTED_SOURCE = "expected_source"
    DELTA = "delta"
    EXPECTED_PROBABILITY = "expected_probability"
    WRONG_PROBABILITY = "wrong_probability"  # q = P(the record is wrong | the photo), what the status is from
    LOOK_ABOVE = "look_above"  # the q above which a person looks (look cost / missed-error cost)
    # The review queue index's keys: `review_queue` is PENDING_REVIEW while a flag waits (the counting
    # Lambda sets it on every flagged record), then `resolved_queue(reviewed_at)`; `review_queue_at` is
    # the capture time while pending, then the resolution time.
    REVIEW_QUEUE = "review_queue"
    REVIEW_QUEUE_AT = "review_queue_at"
    # Written by a resolution (the review Lambda or `binventory review resolve`), never by counting.
    REVIEW_OUTCOME = "review_outcome"
    REVIEWED_COUNT = "reviewed_count"  # CORRECTED only
    REVIEWER = "reviewer"
    REVIEWED_AT = "reviewed_at"
    REVIEW_NOTE = "review_note"


# What a resolution may write on a record: a reviewer changes these and nothing else.
REVIEW_ATTRIBUTES = (
    RecordAttr.REVIEW_OUTCOME,
    RecordAttr.REVIEWED_COUNT,
    RecordAttr.REVIEWER,
    RecordAttr.REVIEWED_AT,
    RecordAttr.REVIEW_NOTE,
    RecordAttr.REVIEW_QUEUE,
    RecordAttr.REVIEW_QUEUE_AT,
)


class BinStateAttr:
    """Attribute names of a bin state item (one per bin)."""

    BIN_ID = "bin_id"
    EXPECTED_QUANTITY = "expected_quantity"
    EXPECTED_SOURCE = "expected_source"  # `review` after a correction; absent when the warehouse loaded it
    EXPECTED_UPDATED_AT = "expected_updated_at"
    LATEST_RECORD_KEY = "latest_record_key"
    LATEST_CAPTURED_AT = "latest_captured_at"
    LATEST_STATUS = "latest_status"
    LATEST_PREDICTED_COUNT = "latest_predicted_count"
    LATEST_CONFIDENCE = "latest_confidence"
    LATEST_EXPECTED_QUANTITY = "latest_expected_quantity"
    # What the latest verdict was judged on, so `inventory bins` can say why without reading every record.
    LATEST_EXPECTED_SOURCE = "latest_expected_source"
    LATEST_EXPECTED_PROBABILITY = "latest_expected_probability"
    LATEST_WRONG_PROBABILITY = "latest_wrong_probability"
    LATEST_LOOK_ABOVE = "latest_look_above"
    LATEST_REASON = "latest_reason"


# The bin state's `latest_*` attributes and the record attribute each one mirrors.
LATEST_FROM_RECORD: Mapping[str, str] = {
    BinStateAttr.LATEST_RECORD_KEY: RecordAttr.RECORD_KEY,
    BinStateAttr.LATEST_CAPTURED_AT: RecordAttr.CAPTURED_AT,
    BinStateAttr.LATEST_STATUS: RecordAttr.STATUS,
    BinStateAttr.LATEST_PREDICTED_COUNT: RecordAttr.PREDICTED_COUNT,
    BinStateAttr.LATEST_CONFIDENCE: RecordAttr.CONFIDENCE,
    BinStateAttr.LATEST_EXPECTED_QUANTITY: RecordAttr.EXPECTED_QUANTITY,
    BinStateAttr.LATEST_EXPECTED_SOURCE: RecordAttr.EXPECTED_SOURCE,
    BinStateAttr.LATEST_EXPECTED_PROBABILITY: RecordAttr.EXPECTED_PROBABILITY,
    BinStateAttr.LATEST_WRONG_PROBABILITY: RecordAttr.WRONG_PROBABILITY,
    BinStateAttr.LATEST_LOOK_ABOVE: RecordAttr.LOOK_ABOVE,
    BinStateAttr.LATEST_REASON: RecordAttr.REASON,
}


def latest_record(state: Mapping[str, Any]) -> dict[str, Any]:
    """A bin state's mirror of its latest record, under the record's own attribute names."""
    return {record: state[latest] for latest, record in LATEST_FROM_RECORD.items() if latest in state}


def format_timestamp(moment: datetime) -> str:
    """`captured_at` / `processed_at` form: ISO-8601 UTC with fixed-width microseconds.

    Every timestamp in the tables has this one width, so string order is time order in the
    sort keys and in `--since` comparisons.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- Inventory table: one item per processed image version -------------------------------
# Partition by bin so a bin's history is one Query; the sort key is the object's identity
# (bucket, key, version), which makes the conditional put the idempotency check.
INVENTORY_PARTITION_KEY = RecordAttr.BIN_ID
INVENTORY_SORT_KEY = RecordAttr.RECORD_KEY
# LSI: a bin's history in capture order (`inventory show BIN`).
BY_CAPTURE_TIME_INDEX = "by-captured-at"
# GSI: every record of one status in capture order (`inventory mismatches --since`, flags raised per week).
BY_STATUS_INDEX = "by-status"
CAPTURED_AT = RecordAttr.CAPTURED_AT
STATUS = RecordAttr.STATUS
# Sparse GSI: only records with `review_queue` are in it. Partition PENDING_REVIEW is the review queue
# (one Query, never a Scan); partition `RESOLVED#<ISO week>` holds that week's resolutions in time order
# (progress "12 of 54 today", `review stats`). One index for both: CloudFormation adds one GSI per update.
REVIEW_QUEUE_INDEX = "review-queue"
PENDING_REVIEW = "PENDING"
_RESOLVED_PREFIX = "RESOLVED#"


def iso_week(timestamp: str) -> str:
    """`2026-12-07T10:00:00.000000Z` -> `2026-W50`: the ISO week a moment falls in (UTC)."""
    year, week, _ = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def resolved_queue(reviewed_at: str) -> str:
    """The review index partition of a flag resolved at `reviewed_at`: `RESOLVED#2026-W50`."""
    return resolved_queue_of_week(iso_week(reviewed_at))


def resolved_queue_of_week(week: str) -> str:
    """`2026-W50` -> `RESOLVED#2026-W50`: the partition holding that ISO week's resolutions."""
    return _RESOLVED_PREFIX + week


def iso_weeks_between(start: str, end: str) -> list[str]:
    """The ISO weeks from `start`'s to `end`'s (timestamps), oldest first, both included."""

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)

    first, last = parse(start), parse(end)
    monday = (first - timedelta(days=first.weekday())).replace(hour=12, minute=0, second=0, microsecond=0)
    weeks: list[str] = []
    while monday <= last or iso_week(format_timestamp(monday)) == iso_week(end):
        week = iso_week(format_timestamp(monday))
        if week in weeks:
            break
        weeks.append(week)
        monday += timedelta(days=7)
    return weeks


def review_queue_keys(status: Status, captured_at: str) -> dict[str, str]:
    """The review index keys of a new record: a flagged record waits in the queue, others are not in it."""
    if status not in FLAGGED_STATUSES:
        return {}
    return {RecordAttr.REVIEW_QUEUE: PENDING_REVIEW, RecordAttr.REVIEW_QUEUE_AT: captured_at}


def review_priority(record: Mapping[str, Any]) -> float:
    """How likely the flagged record's expectation is wrong: the review queue shows the highest first.

    It is the record's q (`wrong_probability`): the posterior that the expected quantity is wrong, from the
    model's evidence and the warehouse's own rate of wrong records (contracts.decision). A record written
    before q existed falls back to 1 - the model's calibrated P(expected count). It is the one place the
    queue's order is decided (the API, the CLI and the page all sort by it). A record without an
    expectation (a LOW_CONFIDENCE count of an unexpected bin) has nothing to be wrong: 0, last.
    """
    if record.get(RecordAttr.EXPECTED_QUANTITY) is None:
        return 0.0
    wrong = record.get(RecordAttr.WRONG_PROBABILITY)
    if wrong is not None:
        return min(1.0, max(0.0, float(wrong)))
    probability = record.get(RecordAttr.EXPECTED_PROBABILITY)
    return 0.0 if probability is None else min(1.0, max(0.0, 1.0 - float(probability)))


# --- Bin state table: one item per bin ----------------------------------------------------
# Holds the expected quantity loaded from the warehouse system and the latest reconciliation,
# so `inventory bins` reads one small item per bin instead of every image ever taken.
BIN_STATE_PARTITION_KEY = BinStateAttr.BIN_ID

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


def s3_version_id(image_version: str | None) -> str | None:
    """The S3 VersionId a record's `image_version` names, or None when it is an ETag (an unversioned
    bucket's object, read by key alone)."""
    if not image_version or image_version == "null" or _ETAG.fullmatch(image_version.strip('"')):
        return None
    return image_version


_ETAG = re.compile(r"[0-9a-f]{32}(-\d+)?")


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
# One detail type per flagged status (the counting Lambda announces FLAGGED_STATUSES).
EVENT_DETAIL_TYPES = {
    Status.MISMATCH: "Bin count mismatch",
    Status.LOW_CONFIDENCE: "Bin count low confidence",
}
# Each resolution of a flag is announced on the same bus; `detail.review_outcome` is a ReviewOutcome.
REVIEW_EVENT_SOURCE = "binventory.review"
REVIEW_RESOLVED_DETAIL_TYPE = "ReviewResolved"

# --- Metrics (CloudWatch embedded metric format, written by the counting Lambda) ----------
METRICS_NAMESPACE = "Binventory"
# The statuses a reconciled record has (a model's answer against an expected quantity).
RECONCILED_STATUSES = frozenset({Status.MATCH, Status.MISMATCH, Status.LOW_CONFIDENCE})


class CounterMetric:
    """Names of the counting Lambda's metrics, for the dashboard, the drift alarms and `binventory status`.

    Counts, and three values per reconciled record (one with an expected quantity and the model's answer):
    `Flagged` (1 when flagged, else 0: its average is the flag rate), `ExpectedProbability` (the model's
    P(expected count): its mean and percentiles are the spread the drift alarm watches) and `CountDelta`
    (predicted minus expected).
    """

    RECORDS_WRITTEN = "RecordsWritten"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    FAILED_MESSAGES = "FailedMessages"  # SQS retries them, then moves them to the DLQ
    DEFERRED_MESSAGES = "DeferredMessages"  # not reached before the invocation's deadline; sent again
    TEST_EVENTS = "S3TestEvents"
    FLAGGED = "Flagged"
    EXPECTED_PROBABILITY = "ExpectedProbability"
    COUNT_DELTA = "CountDelta"

    @staticmethod
    def for_status(status: Status) -> str:
        """`Status.LOW_CONFIDENCE` -> `StatusLowConfidence`: one count per reconciliation outcome."""
        return "Status" + status.value.title().replace("_", "")


class ReviewMetric:
    """Names of the review Lambda's metrics (counts)."""

    @staticmethod
    def for_outcome(outcome: ReviewOutcome) -> str:
        """`ReviewOutcome.CORRECTED` -> `ReviewCorrected`: one count per resolution outcome."""
        return "Review" + outcome.value.title().replace("_", "")


def inventory_table_definition() -> dict[str, Any]:
    """Key schema and indexes of the inventory table, in `dynamodb.create_table` form."""
    return {
        "AttributeDefinitions": [
            {"AttributeName": INVENTORY_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": INVENTORY_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": CAPTURED_AT, "AttributeType": "S"},
            {"AttributeName": STATUS, "AttributeType": "S"},
            {"AttributeName": RecordAttr.REVIEW_QUEUE, "AttributeType": "S"},
            {"AttributeName": RecordAttr.REVIEW_QUEUE_AT, "AttributeType": "S"},
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
            },
            {
                "IndexName": REVIEW_QUEUE_INDEX,
                "KeySchema": [
                    {"AttributeName": RecordAttr.REVIEW_QUEUE, "KeyType": "HASH"},
                    {"AttributeName": RecordAttr.REVIEW_QUEUE_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
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


def reviewed_count(record: Mapping[str, Any]) -> int | None:
    """What a person found in the bin of a resolved record: the truth its photo is labelled with.

    CONFIRMED: the expected quantity; CORRECTED: the count entered; UNREADABLE or unresolved: None.
    """
    outcome = record.get(RecordAttr.REVIEW_OUTCOME)
    if outcome == ReviewOutcome.CONFIRMED:
        expected = record.get(RecordAttr.EXPECTED_QUANTITY)
        return None if expected is None else int(expected)
    if outcome == ReviewOutcome.CORRECTED:
        return int(record[RecordAttr.REVIEWED_COUNT])
    return None
