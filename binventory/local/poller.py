"""Plays Lambda's SQS event source mapping: receive a batch, call the real handler, delete what succeeded.

Messages the handler reports in `batchItemFailures` stay on the queue and come back, and the queue's
redrive policy (the deployed one) moves a message to the dead-letter queue after `maxReceiveCount`
receives. The one local liberty: a failed message becomes visible again after `retry_delay_seconds`
instead of the full visibility timeout, so a demo does not wait minutes for a retry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOGGER = logging.getLogger(__name__)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalLambdaContext:
    """The fields of Lambda's context object that Powertools and the handler read."""

    function_name: str = "binventory-local-counter"
    memory_limit_in_mb: int = 1024
    timeout_millis: int = 60_000
    aws_request_id: str = ""
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:binventory-local-counter"
    log_group_name: str = "/aws/lambda/binventory-local-counter"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_millis


@dataclass(frozen=True)
class PollOutcome:
    """What one receive-and-invoke round did."""

    received: int
    succeeded: int
    failed: int


def to_lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """SQS ReceiveMessage output -> the event Lambda's SQS integration delivers."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class SqsEventSourcePoller:
    """Feeds one queue to one handler, batch by batch."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: LambdaHandler,
        batch_size: int,
        region: str,
        retry_delay_seconds: int = 1,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = min(batch_size, 10)  # ReceiveMessage returns at most 10 per call
        self.region = region
        self.retry_delay_seconds = retry_delay_seconds

    def poll_once(self, wait_seconds: int = 0) -> PollOutcome:
        """Receive up to one batch, invoke the handler once, settle every message."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return PollOutcome(0, 0, 0)
        event = to_lambda_event(messages, self.queue_arn, self.region)
        try:
            response = self.handler(event, LocalLambdaContext(aws_request_id=str(uuid.uuid4()))) or {}
            failed_ids = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception as error:
            # A handler crash fails the whole batch, as in Lambda: every message comes back. One line; the
            # function's log holds the traceback (once per distinct error).
            LOGGER.warning("counting handler failed, the batch of %d comes back: %s", len(messages), error)
            failed_ids = {message["MessageId"] for message in messages}
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(succeeded), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                    for m in succeeded[start : start + 10]
                ],
            )
        for message in messages:
            if message["MessageId"] in failed_ids:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_seconds,
                )
        return PollOutcome(len(messages), len(succeeded), len(failed_ids))
