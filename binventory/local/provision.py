"""Create the counting path's AWS resources in moto from the same definitions the stacks deploy.

Table keys and indexes come from `contracts/inventory_schema.py`, the notified prefixes from the same
module, and the queue's redrive policy from the cdk.json settings, so local and deployed cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from contracts import inventory_schema, stack_outputs
from contracts.counter_environment import WITHOUT_XRAY_DAEMON, counter_environment
from contracts.deployment_settings import Settings
from contracts.review_environment import review_environment

NAME_PREFIX = "binventory-local"


@dataclass(frozen=True)
class LocalResources:
    """Names and addresses of what `provision` created."""

    ingest_bucket: str
    inventory_table: str
    bin_state_table: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    event_bus_name: str
    alerts_queue_url: str
    endpoint_name: str

    def cli_environment(self) -> dict[str, str]:
        """The `BINVENTORY_*` overrides that point the operator CLI at these resources."""
        from binventory.resources import env_var_for

        values = {
            stack_outputs.INGEST_BUCKET_NAME: self.ingest_bucket,
            stack_outputs.INVENTORY_TABLE_NAME: self.inventory_table,
            stack_outputs.BIN_STATE_TABLE_NAME: self.bin_state_table,
            stack_outputs.INGEST_QUEUE_URL: self.queue_url,
            stack_outputs.DEAD_LETTER_QUEUE_URL: self.dead_letter_queue_url,
            stack_outputs.EVENT_BUS_NAME: self.event_bus_name,
            stack_outputs.ENDPOINT_NAME: self.endpoint_name,
        }
        from binventory.local_meaning import LOCAL_MARKER

        return {env_var_for(output_id): value for output_id, value in values.items()} | {LOCAL_MARKER: "1"}

    def lambda_environment(self, settings: Settings) -> dict[str, str]:
        """The counting Lambda's environment, as the counting stack sets it."""
        return {
            **counter_environment(
                inventory_table=self.inventory_table,
                bin_state_table=self.bin_state_table,
                endpoint_name=self.endpoint_name,
                event_bus_name=self.event_bus_name,
                decision=settings.counting.decision,
                max_image_bytes=settings.counting.max_image_bytes,
            ),
            **WITHOUT_XRAY_DAEMON,
        }

    def review_lambda_environment(self) -> dict[str, str]:
        """The review Lambda's environment, as the review construct sets it (no sign-in: the local server
        signs its one reviewer in itself)."""
        return {
            **review_environment(
                inventory_table=self.inventory_table,
                bin_state_table=self.bin_state_table,
                ingest_bucket=self.ingest_bucket,
                event_bus_name=self.event_bus_name,
            ),
            **WITHOUT_XRAY_DAEMON,
        }


def provision(session: boto3.session.Session, settings: Settings) -> LocalResources:
    """Create buckets, tables, queues, the notification and the event bus; return their names."""
    s3 = session.client("s3")
    sqs = session.client("sqs")
    dynamodb = session.client("dynamodb")
    events = session.client("events")

    ingest_bucket = f"{NAME_PREFIX}-ingest"
    s3.create_bucket(Bucket=ingest_bucket)
    s3.put_bucket_versioning(Bucket=ingest_bucket, VersioningConfiguration={"Status": "Enabled"})

    dead_letter_queue_url = sqs.create_queue(QueueName=f"{NAME_PREFIX}-ingest-dlq")["QueueUrl"]
    dead_letter_arn = _queue_arn(sqs, dead_letter_queue_url)
    queue_url = sqs.create_queue(
        QueueName=f"{NAME_PREFIX}-ingest",
        Attributes={
            "VisibilityTimeout": str(settings.counting.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dead_letter_arn,
                    "maxReceiveCount": settings.counting.max_receive_count,
                }
            ),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    s3.put_bucket_notification_configuration(
        Bucket=ingest_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in inventory_schema.NOTIFIED_PREFIXES
            ]
        },
    )

    inventory_table = f"{NAME_PREFIX}-inventory"
    bin_state_table = f"{NAME_PREFIX}-bin-state"
    _create_table(dynamodb, inventory_table, inventory_schema.inventory_table_definition())
    _create_table(dynamodb, bin_state_table, inventory_schema.bin_state_table_definition())

    event_bus_name = f"{NAME_PREFIX}-events"
    events.create_event_bus(Name=event_bus_name)
    alerts_queue_url = sqs.create_queue(QueueName=f"{NAME_PREFIX}-alerts")["QueueUrl"]
    events.put_rule(
        Name=f"{NAME_PREFIX}-alerts",
        EventBusName=event_bus_name,
        EventPattern=json.dumps({"source": [inventory_schema.EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule=f"{NAME_PREFIX}-alerts",
        EventBusName=event_bus_name,
        Targets=[{"Id": "alerts-queue", "Arn": _queue_arn(sqs, alerts_queue_url)}],
    )

    return LocalResources(
        ingest_bucket=ingest_bucket,
        inventory_table=inventory_table,
        bin_state_table=bin_state_table,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dead_letter_queue_url,
        event_bus_name=event_bus_name,
        alerts_queue_url=alerts_queue_url,
        endpoint_name=f"{NAME_PREFIX}-counter",
    )


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _create_table(dynamodb: Any, name: str, definition: dict[str, Any]) -> None:
    dynamodb.create_table(TableName=name, **definition)
    dynamodb.get_waiter("table_exists").wait(TableName=name)
