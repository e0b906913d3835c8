"""The inventory tables: the keys and indexes `contracts.inventory_schema` defines are the ones the counting
Lambda writes and the operator CLI queries by.

The storage stack deploys the same definitions (tests/infrastructure/stacks/test_stacks_storage.py holds the
synthesized tables to them) and the local pipeline creates them in moto, so here the other two parties are
held to the definitions: every item the Lambda writes carries every table and index key with the declared
type, and every key or index the CLI names exists with the keys it gives.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from model_answers import prediction

from binventory.inventory.expected_csv import ExpectedRow
from binventory.inventory.operator_inventory import OperatorInventory
from contracts import inventory_schema
from contracts.decision import DEFAULT_COSTS
from contracts.inventory_schema import RecordAttr, Status
from lambdas.counter.api import (
    CounterConfiguration,
    ImageCounter,
    InventoryRepository,
    KnownState,
    UploadedObject,
)
from lambdas.counter.dal.images import ObjectMissing
from lambdas.review.api import ReviewRepository

INVENTORY = inventory_schema.inventory_table_definition()
BIN_STATE = inventory_schema.bin_state_table_definition()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
UPLOAD = UploadedObject("ingest", "incoming/bin-7/photo.jpg", "v3", None, "2026-11-30T12:00:00.000000Z")


def key_types(definition: dict[str, Any], key_schema: list[dict[str, str]]) -> dict[str, str]:
    """Attribute name -> DynamoDB type ("S") of each key in `key_schema`, as `definition` declares it."""
    types = {item["AttributeName"]: item["AttributeType"] for item in definition["AttributeDefinitions"]}
    return {element["AttributeName"]: types[element["AttributeName"]] for element in key_schema}


def every_key_of(definition: dict[str, Any]) -> dict[str, str]:
    """The table's keys and the keys of all its indexes: an item lacking one is missing from that index."""
    schemas = [definition["KeySchema"]] + [
        index["KeySchema"]
        for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes")
        for index in definition.get(kind, [])
    ]
    return {name: kind for schema in schemas for name, kind in key_types(definition, schema).items()}


def typed(item: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A low-level DynamoDB item or key -> attribute name -> its type tag."""
    return {name: next(iter(value)) for name, value in item.items()}


class RecordingDynamoDB:
    """A low-level DynamoDB client that notes each request and answers as an empty table does."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.meta = SimpleNamespace(region_name="us-east-1")

    def __getattr__(self, operation: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            self.requests.append((operation, request))
            return {}

        return call

    def get_paginator(self, operation: str) -> Any:
        return SimpleNamespace(paginate=lambda **request: self.requests.append((operation, request)) or [])

    def made(self, operation: str) -> list[dict[str, Any]]:
        return [request for name, request in self.requests if name == operation]


class Photos:
    def __init__(self, data: bytes | None) -> None:
        self.data = data

    def read_image(self, upload: UploadedObject, read_limit: int) -> SimpleNamespace:
        if self.data is None:
            raise ObjectMissing("object version was deleted before processing (NoSuchVersion)")
        return SimpleNamespace(size=len(self.data), content_type="image/jpeg", metadata={}, data=self.data)

    def read_document(self, bucket: str, key: str) -> None:
        return None


class Endpoint:
    def predict(self, image: bytes, content_type: str, deadline: Any) -> dict[str, Any]:
        return prediction(2, 0.999)  # surely 2 items where 3 are expected


def lambda_writes(photo: bytes | None) -> RecordingDynamoDB:
    """What the Lambda's repository sends DynamoDB for one upload whose bin expects 3 items."""
    dynamodb = RecordingDynamoDB()
    counter = ImageCounter(
        images=Photos(photo),
        endpoint=Endpoint(),
        inventory=InventoryRepository(dynamodb, inventory_table="inventory", bin_state_table="bin-state"),
        events=SimpleNamespace(publish=lambda record: None),
        configuration=CounterConfiguration(
            "inventory", "bin-state", "endpoint", "bus", DEFAULT_COSTS, 6_000_000
        ),
        clock=lambda: datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC),
    )
    counter.count(UPLOAD, KnownState(expected_quantities={"bin-7": 3}))
    return dynamodb


@pytest.mark.parametrize(
    ("photo", "status"),
    [(JPEG, Status.MISMATCH), (b"not an image", Status.INVALID_IMAGE), (None, Status.OBJECT_MISSING)],
)
def test_every_record_the_lambda_writes_is_in_the_table_and_in_every_index(
    photo: bytes | None, status: Status
) -> None:
    # when the Lambda records an upload (counted, unreadable, or deleted before it was read)
    (transaction,) = lambda_writes(photo).made("transact_write_items")
    put, update = (next(iter(item.values())) for item in transaction["TransactItems"])

    # then the record carries every table and index key with its declared type: without `status` or
    # `captured_at` it would be missing from `inventory mismatches` and `inventory show`; the review
    # queue's keys only while it is a flag waiting for a person (that index is sparse)
    assert put["Item"]["status"] == {"S": status.value}
    review_keys = {RecordAttr.REVIEW_QUEUE, RecordAttr.REVIEW_QUEUE_AT}
    always = {name: kind for name, kind in every_key_of(INVENTORY).items() if name not in review_keys}
    assert typed(put["Item"]).items() >= always.items()
    if status in inventory_schema.FLAGGED_STATUSES:
        assert put["Item"][RecordAttr.REVIEW_QUEUE] == {"S": inventory_schema.PENDING_REVIEW}
        assert put["Item"][RecordAttr.REVIEW_QUEUE_AT] == put["Item"][RecordAttr.CAPTURED_AT]
    else:
        assert review_keys.isdisjoint(put["Item"])
    assert put["Item"][inventory_schema.INVENTORY_SORT_KEY] == {
        "S": inventory_schema.record_key(UPLOAD.bucket, UPLOAD.key, UPLOAD.version)
    }
    # and the bin's state is addressed by exactly the bin state table's key
    assert typed(update["Key"]) == key_types(BIN_STATE, BIN_STATE["KeySchema"])


def test_the_lambda_reads_by_the_tables_keys() -> None:
    # given an upload of a bin whose state the batch read did not see
    dynamodb = RecordingDynamoDB()
    repository = InventoryRepository(dynamodb, inventory_table="inventory", bin_state_table="bin-state")

    # when
    repository.read_known_state(["bin-7"], [("bin-7", "ingest/incoming/bin-7/photo.jpg#v3")])
    repository.expected_quantity("bin-7")

    # then every key it asks for is a whole key of its table
    (batch,) = dynamodb.made("batch_get_item")
    keys = {table: [typed(key) for key in entry["Keys"]] for table, entry in batch["RequestItems"].items()}
    assert keys == {
        "bin-state": [key_types(BIN_STATE, BIN_STATE["KeySchema"])],
        "inventory": [key_types(INVENTORY, INVENTORY["KeySchema"])],
    }
    (lookup,) = dynamodb.made("get_item")
    assert typed(lookup["Key"]) == key_types(BIN_STATE, BIN_STATE["KeySchema"])


def _key_condition_attributes(query: dict[str, Any]) -> dict[str, str]:
    """`#status = :status AND captured_at >= :since` -> {"status": "=", "captured_at": ">="}."""
    names = query.get("ExpressionAttributeNames", {})
    found = {}
    for clause in query["KeyConditionExpression"].split(" AND "):
        match = re.fullmatch(r"\s*(#?\w+)\s*(=|<=|>=|<|>)\s*:\w+\s*", clause)
        assert match, f"unexpected key condition {clause!r}"
        found[names.get(match.group(1), match.group(1))] = match.group(2)
    return found


def test_the_cli_and_the_review_query_indexes_the_table_has_by_their_keys() -> None:
    # given the operator's view of one stage, and the review's
    dynamodb = RecordingDynamoDB()
    reviews = ReviewRepository(dynamodb, inventory_table="inventory", bin_state_table="bin-state")
    resources = SimpleNamespace(
        inventory_table="inventory",
        bin_state_table="bin-state",
        client=lambda service: dynamodb,
        stack_name=lambda kind: f"binventory-dev-{kind}",
    )
    inventory = OperatorInventory(resources)  # type: ignore[arg-type]

    # when it lists mismatches since a time and shows one bin's history
    inventory.records_with_status([Status.MISMATCH], since="2026-11-30T00:00:00.000000Z")
    inventory.history("bin-7", limit=None)
    # and the review reads its queue, a week's resolutions and the flags raised
    reviews.pending()
    reviews.resolved_between("2026-11-30T00:00:00.000000Z", "2026-12-01T00:00:00.000000Z")
    reviews.flags_raised_since("2026-11-30T00:00:00.000000Z")

    # then each query names an index of the inventory table and conditions on that index's keys only:
    # its partition key by equality, its sort key (if at all) by a comparison
    indexes = {
        index["IndexName"]: index["KeySchema"]
        for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes")
        for index in INVENTORY[kind]
    }
    queries = dynamodb.made("query")
    assert {query["IndexName"] for query in queries} == set(indexes)
    for query in queries:
        schema = {element["KeyType"]: element["AttributeName"] for element in indexes[query["IndexName"]]}
        condition = _key_condition_attributes(query)
        assert condition[schema["HASH"]] == "=", query["IndexName"]
        assert set(condition) <= set(schema.values()), query["IndexName"]


def test_the_cli_writes_and_reads_bin_state_by_the_tables_key() -> None:
    dynamodb = RecordingDynamoDB()
    resources = SimpleNamespace(
        inventory_table="inventory", bin_state_table="bin-state", client=lambda service: dynamodb
    )
    inventory = OperatorInventory(resources)  # type: ignore[arg-type]

    inventory.load_expected([ExpectedRow("bin-7", 3, line=2)], loaded_at="2026-11-30T12:00:00.000000Z")
    inventory.bin_state("bin-7")

    bin_state_key = key_types(BIN_STATE, BIN_STATE["KeySchema"])
    assert [typed(request["Key"]) for request in dynamodb.made("update_item")] == [bin_state_key]
    assert [typed(request["Key"]) for request in dynamodb.made("get_item")] == [bin_state_key]
