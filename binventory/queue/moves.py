"""Queue depths and ages, and moving dead-lettered messages back to the queue they came from.

On AWS the move is SQS's own StartMessageMoveTask (the console's "Start DLQ redrive"), followed with
ListMessageMoveTasks. moto answers StartMessageMoveTask with a 500, so the local pipeline moves the messages
itself: receive from the dead-letter queue, send each body and its attributes to the ingest queue as a new
message (its receive count starts again, as after a move task), then delete it from the dead-letter queue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# How long a message being moved stays hidden from other readers of the dead-letter queue.
MOVE_HIDE_SECONDS = 60


@dataclass(frozen=True)
class QueueFigures:
    """What `queue status` shows for one queue."""

    name: str
    visible: int
    in_flight: int
    oldest_age_seconds: float | None  # None where it cannot be measured without consuming a receive


def queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def oldest_age_from_cloudwatch(cloudwatch: Any, queue_url: str, now: datetime) -> float | None:
    """SQS's ApproximateAgeOfOldestMessage over the last 5 minutes (what the DLQ alarm watches)."""
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "age",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": queue_name(queue_url)}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        ScanBy="TimestampDescending",
    )
    values = response["MetricDataResults"][0].get("Values", [])
    return float(values[0]) if values else None


def oldest_age_by_reading(sqs: Any, queue_url: str, now: datetime) -> float | None:
    """The oldest SentTimestamp among the messages, read and shown again at once (no redrive policy on a
    dead-letter queue, so a read costs it nothing)."""
    from binventory.local.pipeline import read_queue_view

    sent = [int(m["Attributes"]["SentTimestamp"]) for m in read_queue_view(sqs, queue_url)]
    return (now.timestamp() * 1000 - min(sent)) / 1000 if sent else None


def start_move_task(sqs: Any, dead_letter_arn: str, queue_arn: str) -> str:
    """SQS's own redrive of every message back to the ingest queue; returns the task handle."""
    return sqs.start_message_move_task(SourceArn=dead_letter_arn, DestinationArn=queue_arn)["TaskHandle"]


def latest_move_task(sqs: Any, dead_letter_arn: str) -> dict[str, Any] | None:
    """The newest move task from the dead-letter queue (Status, ApproximateNumberOfMessagesMoved, ...)."""
    tasks = sqs.list_message_move_tasks(SourceArn=dead_letter_arn, MaxResults=1).get("Results", [])
    return tasks[0] if tasks else None


def wait_for_move_task(
    sqs: Any, dead_letter_arn: str, timeout_seconds: float, poll_seconds: float = 5
) -> dict:
    """Follow the newest move task until it is no longer RUNNING (or the timeout passes)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        task = latest_move_task(sqs, dead_letter_arn) or {}
        if task.get("Status") != "RUNNING" or time.monotonic() >= deadline:
            return task
        time.sleep(poll_seconds)


def move_back_locally(sqs: Any, dead_letter_url: str, queue_url: str) -> int:
    """Move every dead-lettered message to the ingest queue as a new message; returns how many."""
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=MOVE_HIDE_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        entries = []
        for number, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(number), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        delivered = {entry["Id"] for entry in sent.get("Successful", [])}
        done = [m for number, m in enumerate(messages) if str(number) in delivered]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
        moved += len(done)
        if len(done) < len(messages):
            failed = sent.get("Failed", [{}])[0]
            raise RuntimeError(
                f"SQS refused to send a message back: {failed.get('Code')} {failed.get('Message')}"
            )


def now_utc() -> datetime:
    return datetime.now(UTC)
