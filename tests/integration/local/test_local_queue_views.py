"""The local pipeline's views of the alert and dead-letter queues show every message and consume none."""

from __future__ import annotations

import boto3
from moto import mock_aws

from binventory.local.pipeline import read_queue_view


@mock_aws
def test_a_long_queue_is_shown_whole_and_left_in_place() -> None:
    # given: more messages than a view of short-lived hiding could read (a real ABID demo published 410)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    for start in range(0, 420, 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "MessageBody": f"alert {start + n}"} for n in range(10)],
        )

    # when: the demo reads it, and reads it again
    first = read_queue_view(sqs, queue_url)
    second = read_queue_view(sqs, queue_url)

    # then: every alert is counted each time, and none was consumed
    assert sorted(m["Body"] for m in first) == sorted(f"alert {n}" for n in range(420))
    assert len(second) == 420
