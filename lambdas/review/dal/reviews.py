"""The review's reads and its one write on the inventory and bin state tables.

Reads are Queries: the review queue index's PENDING partition (the queue), its `RESOLVED#<week>`
partitions (resolutions of a week), the by-status index (flags raised). A resolution is one
TransactWriteItems: the record's review fields, written only while the record exists, is flagged and is
not yet resolved, and for a correction the bin's expected quantity (source `review`) with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from contracts.inventory_schema import (
    BIN_STATE_PARTITION_KEY,
    BY_STATUS_INDEX,
    FLAGGED_STATUSES,
    INVENTORY_PARTITION_KEY,
    INVENTORY_SORT_KEY,
    PENDING_REVIEW,
    REVIEW_QUEUE_INDEX,
    BinStateAttr,
    ExpectedSource,
    RecordAttr,
    ReviewOutcome,
    iso_weeks_between,
    resolved_queue,
    resolved_queue_of_week,
)

from ..logic.resolution import Resolution
from ..observability import tracer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class RecordNotFound(LookupError):
    """No inventory record has this bin and record key."""


class NotResolvable(Exception):
    """The record is not a pending flag: another reviewer resolved it first, or it was never flagged."""


@dataclass(frozen=True)
class ReviewedRecord:
    """What a resolution wrote: the record as it is now, and whether the bin's expectation changed."""

    record: dict[str, Any]
    expected_quantity_set: bool


class ReviewRepository:
    """The inventory and bin state tables, through a low-level boto3 DynamoDB client."""

    def __init__(self, dynamodb_client: Any, *, inventory_table: str, bin_state_table: str) -> None:
        self.dynamodb = dynamodb_client
        self.inventory_table = inventory_table
        self.bin_state_table = bin_state_table

    @tracer.capture_method(capture_response=False)
    def pending(self) -> list[dict[str, Any]]:
        """Every flagged record no one has resolved yet (the review queue index's PENDING partition)."""
        return list(self._query_review_queue(PENDING_REVIEW))

    @tracer.capture_method(capture_response=False)
    def resolved_between(self, since: str, until: str) -> list[dict[str, Any]]:
        """Records resolved from `since` on, read from the partitions of the ISO weeks up to `until`."""
        found: list[dict[str, Any]] = []
        for week in iso_weeks_between(since, until):
            found += self._query_review_queue(resolved_queue_of_week(week), since=since)
        return found

    @tracer.capture_method(capture_response=False)
    def flags_raised_since(self, since: str) -> list[dict[str, Any]]:
        """Flagged records captured at or after `since` (the by-status index)."""
        found: list[dict[str, Any]] = []
        for status in sorted(FLAGGED_STATUSES):
            found += self._pages(
                IndexName=BY_STATUS_INDEX,
                KeyConditionExpression="#status = :status AND #at >= :since",
                ExpressionAttributeNames={"#status": RecordAttr.STATUS, "#at": RecordAttr.CAPTURED_AT},
                ExpressionAttributeValues={":status": {"S": status.value}, ":since": {"S": since}},
            )
        return found

    @tracer.capture_method(capture_response=False)
    def resolved_flags(self) -> list[dict[str, Any]]:
        """Every resolved flag, of all time (the by-status index, resolved ones only): the labelled photos."""
        found: list[dict[str, Any]] = []
        for status in sorted(FLAGGED_STATUSES):
            found += self._pages(
                IndexName=BY_STATUS_INDEX,
                KeyConditionExpression="#status = :status",
                FilterExpression="attribute_exists(#outcome)",
                ExpressionAttributeNames={
                    "#status": RecordAttr.STATUS,
                    "#outcome": RecordAttr.REVIEW_OUTCOME,
                },
                ExpressionAttributeValues={":status": {"S": status.value}},
            )
        return found

    @tracer.capture_method(capture_response=False)
    def record(self, bin_id: str, record_key: str) -> dict[str, Any]:
        """One record; RecordNotFound when there is none."""
        response = self.dynamodb.get_item(
            TableName=self.inventory_table,
            Key={INVENTORY_PARTITION_KEY: {"S": bin_id}, INVENTORY_SORT_KEY: {"S": record_key}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise RecordNotFound(f"bin {bin_id!r} has no record {record_key!r}")
        return plain(response["Item"])

    @tracer.capture_method(capture_response=False)
    def bin_state(self, bin_id: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.bin_state_table, Key={BIN_STATE_PARTITION_KEY: {"S": bin_id}}
        )
        return plain(response["Item"]) if "Item" in response else None

    @tracer.capture_method(capture_response=False)
    def resolve(self, resolution: Resolution, *, reviewer: str, reviewed_at: str) -> ReviewedRecord:
        """Write the resolution (and a correction's expected quantity) in one transaction.

        Raises NotResolvable, with the record as it is, when the record is not a pending flag; the caller
        tells the reviewer who resolved it and when.
        """
        items = [{"Update": self._record_update(resolution, reviewer, reviewed_at)}]
        corrects = resolution.outcome is ReviewOutcome.CORRECTED
        if corrects:
            items.append({"Update": self._expectation_update(resolution, reviewed_at)})
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            if reasons[:1] != ["ConditionalCheckFailed"]:
                raise
            raise NotResolvable(self.record(resolution.bin_id, resolution.record_key)) from error
        return ReviewedRecord(self.record(resolution.bin_id, resolution.record_key), corrects)

    def _record_update(self, resolution: Resolution, reviewer: str, reviewed_at: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            ":outcome": resolution.outcome.value,
            ":reviewer": reviewer,
            ":at": reviewed_at,
            ":resolved": resolved_queue(reviewed_at),
            **{f":flag{i}": status.value for i, status in enumerate(sorted(FLAGGED_STATUSES))},
        }
        names = {
            "#outcome": RecordAttr.REVIEW_OUTCOME,
            "#reviewer": RecordAttr.REVIEWER,
            "#reviewed_at": RecordAttr.REVIEWED_AT,
            "#queue": RecordAttr.REVIEW_QUEUE,
            "#queue_at": RecordAttr.REVIEW_QUEUE_AT,
            "#status": RecordAttr.STATUS,
            "#sort": INVENTORY_SORT_KEY,
        }
        assignments = [
            "#outcome = :outcome",
            "#reviewer = :reviewer",
            "#reviewed_at = :at",
            "#queue = :resolved",
            "#queue_at = :at",
        ]
        if resolution.count is not None:
            names["#count"] = RecordAttr.REVIEWED_COUNT
            values[":count"] = resolution.count
            assignments.append("#count = :count")
        if resolution.note:
            names["#note"] = RecordAttr.REVIEW_NOTE
            values[":note"] = resolution.note
            assignments.append("#note = :note")
        flagged = ", ".join(f":flag{i}" for i in range(len(FLAGGED_STATUSES)))
        return {
            "TableName": self.inventory_table,
            "Key": {
                INVENTORY_PARTITION_KEY: {"S": resolution.bin_id},
                INVENTORY_SORT_KEY: {"S": resolution.record_key},
            },
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ConditionExpression": f"attribute_exists(#sort) AND #status IN ({flagged}) "
            "AND attribute_not_exists(#outcome)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: _SERIALIZER.serialize(v) for k, v in values.items()},
        }

    def _expectation_update(self, resolution: Resolution, reviewed_at: str) -> dict[str, Any]:
        return {
            "TableName": self.bin_state_table,
            "Key": {BIN_STATE_PARTITION_KEY: {"S": resolution.bin_id}},
            "UpdateExpression": "SET #quantity = :quantity, #source = :source, #updated = :at",
            "ExpressionAttributeNames": {
                "#quantity": BinStateAttr.EXPECTED_QUANTITY,
                "#source": BinStateAttr.EXPECTED_SOURCE,
                "#updated": BinStateAttr.EXPECTED_UPDATED_AT,
            },
            "ExpressionAttributeValues": {
                ":quantity": {"N": str(resolution.count)},
                ":source": {"S": ExpectedSource.REVIEW.value},
                ":at": {"S": reviewed_at},
            },
        }

    def _query_review_queue(self, partition: str, since: str | None = None) -> Iterator[dict[str, Any]]:
        condition = "#queue = :queue" + (" AND #queue_at >= :since" if since else "")
        values = {":queue": {"S": partition}} | ({":since": {"S": since}} if since else {})
        names = {"#queue": RecordAttr.REVIEW_QUEUE} | (
            {"#queue_at": RecordAttr.REVIEW_QUEUE_AT} if since else {}
        )
        return self._pages(
            IndexName=REVIEW_QUEUE_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _pages(self, **request: Any) -> Iterator[dict[str, Any]]:
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(TableName=self.inventory_table, **request):
            yield from (plain(item) for item in page.get("Items", []))


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as JSON-ready values: whole numbers as int, others as float."""
    return {name: _number(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value
