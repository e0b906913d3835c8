"""A stage's review world in moto: the tables, the ingest bucket, the event bus, and flagged records written
the way the counting Lambda writes them (its own repository), for the review Lambda's and the CLI's tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from model_answers import prediction

from binventory.local.review_server import LOCAL_REVIEWER_CLAIMS, http_api_event
from contracts import inventory_schema
from contracts.decision import DEFAULT_COSTS
from contracts.inventory_schema import ExpectedSource, RecordAttr, format_timestamp
from contracts.review_environment import review_environment
from lambdas.counter.api import InventoryRecord, InventoryRepository
from lambdas.counter.logic.expected import ExpectedQuantity
from lambdas.counter.logic.reconcile import reconcile
from lambdas.counter.logic.records import ImageVersion

REGION = "us-east-1"
ACCOUNT = "123456789012"
INVENTORY_TABLE = "review-test-inventory"
BIN_STATE_TABLE = "review-test-bin-state"
BUCKET = "review-test-ingest"
EVENT_BUS = "review-test-events"
REVIEWER_CLAIMS = {**LOCAL_REVIEWER_CLAIMS, "username": "alice"}
# Signed in (a valid token), but not a reviewer.
OUTSIDER_CLAIMS = {"sub": "b0b", "username": "bob", "cognito:groups": "[warehouse]", "token_use": "access"}


def recent(minutes_ago: float) -> str:
    """A capture time `minutes_ago` before now: this week's figures and today's progress count it."""
    return format_timestamp(datetime.now(UTC) - timedelta(minutes=minutes_ago))


def review_lambda_environment() -> dict[str, str]:
    return review_environment(
        inventory_table=INVENTORY_TABLE,
        bin_state_table=BIN_STATE_TABLE,
        ingest_bucket=BUCKET,
        event_bus_name=EVENT_BUS,
    )


@dataclass
class ReviewWorld:
    """moto's tables, bucket and bus (inside mock_aws), and flagged records to review."""

    session: boto3.session.Session = field(default_factory=lambda: boto3.session.Session(region_name=REGION))

    def __post_init__(self) -> None:
        dynamodb = self.session.client("dynamodb")
        dynamodb.create_table(TableName=INVENTORY_TABLE, **inventory_schema.inventory_table_definition())
        dynamodb.create_table(TableName=BIN_STATE_TABLE, **inventory_schema.bin_state_table_definition())
        s3 = self.session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        events = self.session.client("events")
        events.create_event_bus(Name=EVENT_BUS)
        sqs = self.session.client("sqs")
        self.events_queue = sqs.create_queue(QueueName="review-test-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.events_queue, AttributeNames=["QueueArn"])["Attributes"]
        events.put_rule(
            Name="all",
            EventBusName=EVENT_BUS,
            EventPattern=json.dumps({"source": [{"prefix": "binventory"}]}),
        )
        events.put_targets(Rule="all", EventBusName=EVENT_BUS, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
        self.repository = InventoryRepository(
            dynamodb, inventory_table=INVENTORY_TABLE, bin_state_table=BIN_STATE_TABLE
        )

    def counted(
        self,
        bin_id: str,
        *,
        captured_at: str,
        count: int,
        expected: int | None,
        confidence: float = 0.999,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Upload a photo and record it as the counting Lambda does; returns the record's attributes."""
        key = key or f"incoming/{bin_id}/{uuid.uuid4().hex[:8]}.jpg"
        version = self.session.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"\xff\xd8\xff photo")[
            "VersionId"
        ]
        image = ImageVersion(bin_id, BUCKET, key, version, captured_at)
        reconciliation = reconcile(prediction(count, confidence), expected, DEFAULT_COSTS)
        source = ExpectedQuantity(expected, ExpectedSource.BIN_STATE if expected is not None else None)
        record = InventoryRecord.counted(image, reconciliation, source, captured_at)
        self.repository.save(record)
        return record.attributes()

    def record(self, bin_id: str, record_key: str) -> dict[str, Any]:
        table = self.session.resource("dynamodb").Table(INVENTORY_TABLE)
        return table.get_item(Key={RecordAttr.BIN_ID: bin_id, RecordAttr.RECORD_KEY: record_key})["Item"]

    def bin_state(self, bin_id: str) -> dict[str, Any]:
        return (
            self.session.resource("dynamodb").Table(BIN_STATE_TABLE).get_item(Key={"bin_id": bin_id})["Item"]
        )

    def published(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.events_queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    claims: dict[str, Any] | None = REVIEWER_CLAIMS,
    query: str = "",
) -> dict[str, Any]:
    """An HTTP API v2 event; `claims` as API Gateway's JWT authorizer passes them (None: no authorizer)."""
    raw = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return http_api_event(method, path, query=query, body=raw, claims=claims, headers={"host": "review.test"})
