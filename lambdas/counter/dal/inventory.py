"""Write inventory records, and read bin state, in DynamoDB: one write call per image, idempotently.

`InventoryRepository.save` puts the record and advances the bin's latest state in one
TransactWriteItems. The put is conditioned on the record key not existing, so a redelivered
image writes nothing; the state update is conditioned on the bin's latest capture being older,
so a late arrival is still recorded but never overwrites newer state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from contracts.inventory_schema import (
    BIN_STATE_PARTITION_KEY,
    INVENTORY_PARTITION_KEY,
    INVENTORY_SORT_KEY,
    LATEST_FROM_RECORD,
    BinStateAttr,
)

from ..logic.records import InventoryRecord
from ..observability import tracer

BATCH_GET_LIMIT = 100  # keys per BatchGetItem request
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
# Bin state attributes that mirror the latest record's optional values (removed when the record has none);
# the record key, capture time and status are always set.
_ALWAYS_SET = (BinStateAttr.LATEST_RECORD_KEY, BinStateAttr.LATEST_CAPTURED_AT, BinStateAttr.LATEST_STATUS)
_LATEST_VALUES = {state: record for state, record in LATEST_FROM_RECORD.items() if state not in _ALWAYS_SET}
# Errors that pass with time: DynamoDB throttled the request or could not serve it (besides any 5xx).
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
_LATEST_AT, _LATEST_KEY = BinStateAttr.LATEST_CAPTURED_AT, BinStateAttr.LATEST_RECORD_KEY
_NEWER_THAN_LATEST = (
    f"attribute_not_exists({_LATEST_AT}) OR {_LATEST_AT} < :captured_at"
    f" OR ({_LATEST_AT} = :captured_at AND {_LATEST_KEY} < :record_key)"
)


class SaveOutcome(StrEnum):
    """What `save` did."""

    WRITTEN = "written"  # the record, and the bin's latest state
    WRITTEN_RECORD_ONLY = "written_record_only"  # the bin's state already shows a newer image
    DUPLICATE = "duplicate"  # this image version was recorded before: nothing written


@dataclass
class KnownState:
    """What the read at the start of a batch found, plus what the batch wrote; the rest is unknown."""

    expected_quantities: dict[str, Any] = field(default_factory=dict)  # bin id -> raw value or None
    recorded: set[tuple[str, str]] = field(default_factory=set)  # (bin id, record key)

    def knows_bin(self, bin_id: str) -> bool:
        return bin_id in self.expected_quantities

    def is_recorded(self, bin_id: str, record_key: str) -> bool:
        return (bin_id, record_key) in self.recorded

    def remember(self, bin_id: str, record_key: str) -> None:
        """Note a record written (or found) since the read."""
        self.recorded.add((bin_id, record_key))


class InventoryRepository:
    """The inventory and bin state tables, through a low-level boto3 DynamoDB client."""

    def __init__(self, dynamodb_client: Any, *, inventory_table: str, bin_state_table: str) -> None:
        self.dynamodb = dynamodb_client
        self.inventory_table = inventory_table
        self.bin_state_table = bin_state_table

    @tracer.capture_method(capture_response=False)
    def save(self, record: InventoryRecord) -> SaveOutcome:
        """Write the record and advance the bin state (one call); a known record writes nothing."""
        put = self._put_record(record)
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[{"Put": put}, {"Update": self._advance_state(record)}]
            )
            return SaveOutcome.WRITTEN
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            cancelled = error.response.get("Error", {}).get("Code") == "TransactionCanceledException"
            if not cancelled or len(reasons) != 2:
                raise
            if reasons[0] == "ConditionalCheckFailed":
                return SaveOutcome.DUPLICATE
            if reasons != ["None", "ConditionalCheckFailed"]:
                raise  # throttling or a conflicting transaction: transient, the record is retried
        try:
            self.dynamodb.put_item(**put)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return SaveOutcome.DUPLICATE
            raise
        return SaveOutcome.WRITTEN_RECORD_ONLY

    @tracer.capture_method(capture_response=False)
    def read_known_state(self, bin_ids: Iterable[str], records: Iterable[tuple[str, str]]) -> KnownState:
        """Expected quantities of these bins and which of these records exist, in few BatchGetItems.

        Keys DynamoDB leaves unprocessed stay unknown; callers then look them up one by one.
        """
        keys = [(self.bin_state_table, {BIN_STATE_PARTITION_KEY: b}) for b in dict.fromkeys(bin_ids)]
        keys += [
            (self.inventory_table, {INVENTORY_PARTITION_KEY: b, INVENTORY_SORT_KEY: r})
            for b, r in dict.fromkeys(records)
        ]
        known = KnownState()
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            chunk = keys[start : start + BATCH_GET_LIMIT]
            response = self.dynamodb.batch_get_item(RequestItems=self._batch_request(chunk))
            unprocessed = response.get("UnprocessedKeys", {}).get(self.bin_state_table, {}).get("Keys", [])
            unknown_bins = {key[BIN_STATE_PARTITION_KEY]["S"] for key in unprocessed}
            for table, key in chunk:
                if table == self.bin_state_table and key[BIN_STATE_PARTITION_KEY] not in unknown_bins:
                    known.expected_quantities[key[BIN_STATE_PARTITION_KEY]] = None  # read: no item yet
            found = response.get("Responses", {})
            for item in map(_plain, found.get(self.bin_state_table, [])):
                known.expected_quantities[item[BIN_STATE_PARTITION_KEY]] = item.get(
                    BinStateAttr.EXPECTED_QUANTITY
                )
            for item in map(_plain, found.get(self.inventory_table, [])):
                known.recorded.add((item[INVENTORY_PARTITION_KEY], item[INVENTORY_SORT_KEY]))
        return known

    @tracer.capture_method(capture_response=False)
    def expected_quantity(self, bin_id: str) -> Any:
        """The bin's raw `expected_quantity`, or None when it has none."""
        response = self.dynamodb.get_item(
            TableName=self.bin_state_table,
            Key={BIN_STATE_PARTITION_KEY: {"S": bin_id}},
            ProjectionExpression=BinStateAttr.EXPECTED_QUANTITY,
        )
        return _plain(response.get("Item", {})).get(BinStateAttr.EXPECTED_QUANTITY)

    def _put_record(self, record: InventoryRecord) -> dict[str, Any]:
        return {
            "TableName": self.inventory_table,
            "Item": {name: _SERIALIZER.serialize(_decimals(v)) for name, v in record.attributes().items()},
            "ConditionExpression": f"attribute_not_exists({INVENTORY_SORT_KEY})",
        }

    def _advance_state(self, record: InventoryRecord) -> dict[str, Any]:
        attributes = record.attributes()
        values: dict[str, Any] = {
            ":record_key": record.record_key,
            ":captured_at": record.captured_at,
            ":status": record.status.value,
        }
        assignments = [
            f"{BinStateAttr.LATEST_RECORD_KEY} = :record_key",
            f"{BinStateAttr.LATEST_CAPTURED_AT} = :captured_at",
            f"{BinStateAttr.LATEST_STATUS} = :status",
        ]
        removals = []
        for state_name, record_name in _LATEST_VALUES.items():
            value = attributes.get(record_name)
            if value is None:
                removals.append(state_name)
            else:
                values[f":{state_name}"] = value
                assignments.append(f"{state_name} = :{state_name}")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        return {
            "TableName": self.bin_state_table,
            "Key": {BIN_STATE_PARTITION_KEY: {"S": record.bin_id}},
            "UpdateExpression": expression,
            "ConditionExpression": _NEWER_THAN_LATEST,
            "ExpressionAttributeValues": {k: _SERIALIZER.serialize(_decimals(v)) for k, v in values.items()},
        }

    def _batch_request(self, keys: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
        request: dict[str, Any] = {}
        for table, key in keys:
            entry = request.setdefault(table, {"Keys": []})
            entry["Keys"].append({name: {"S": value} for name, value in key.items()})
        projections = {
            self.bin_state_table: f"{BIN_STATE_PARTITION_KEY}, {BinStateAttr.EXPECTED_QUANTITY}",
            self.inventory_table: f"{INVENTORY_PARTITION_KEY}, {INVENTORY_SORT_KEY}",
        }
        for table, entry in request.items():
            entry["ProjectionExpression"] = projections[table]
        return request


def is_transient(error: BotoCoreError | ClientError) -> bool:
    """True for failures a later request can get past (throttling, 5xx, a lost connection).

    Everything else (AccessDenied, a missing table, a bad request) is a deployment or code problem
    that no retry fixes.
    """
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.response.get("Error", {}).get("Code") in _TRANSIENT_CODES or int(status) >= 500
    return isinstance(error, BotoConnectionError | HTTPClientError)


def _decimals(value: Any) -> Any:
    """DynamoDB numbers are Decimals: convert floats (also inside maps)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
