"""`binventory queue status` and `redrive`: depths, ages and moving dead letters back, as an operator sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from binventory.cli import cli
from binventory.local_meaning import LOCAL_MARKER
from binventory.queue import moves

REGION = "us-east-1"


@pytest.fixture
def queues(fake_aws_credentials: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The counting stack's ingest and dead-letter queues (CloudFormation-style names), 3 dead letters."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dead_letter_url = sqs.create_queue(QueueName="binventory-dev-counting-DeadLetterQueue-AB12")[
            "QueueUrl"
        ]
        dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        ingest_url = sqs.create_queue(QueueName="binventory-dev-counting-IngestQueue-CD34")["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=dead_letter_url, MessageBody=f"s3 event {n}")
        monkeypatch.setenv("BINVENTORY_INGEST_QUEUE_URL", ingest_url)
        monkeypatch.setenv("BINVENTORY_DEAD_LETTER_QUEUE_URL", dead_letter_url)
        monkeypatch.setenv("BINVENTORY_DEAD_LETTER_QUEUE_ARN", dead_letter_arn)
        yield {"ingest": ingest_url, "dead_letter": dead_letter_url, "dead_letter_arn": dead_letter_arn}


def at_80_columns(*args: str, local: bool) -> Result:
    env = {"COLUMNS": "80", LOCAL_MARKER: "1" if local else ""}
    return CliRunner(env=env).invoke(cli, ["queue", *args])


def bodies(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        found += [m["Body"] for m in messages]
    return sorted(found)


def test_snapshot_queue_status_locally_at_80_columns(queues: dict[str, str]) -> None:
    shown = at_80_columns("status", local=True)

    assert shown.exit_code == 0, shown.output
    assert [line.rstrip() for line in shown.output.splitlines() if line.strip()] == [
        "Queues",
        " queue         waiting  in flight  oldest",
        " " + "─" * 46,
        " ingest              0          0  n/a locally",
        " dead-letter         3          0  < 1 min",
        "Dead letters wait: `binventory queue redrive` moves them back once the cause is fixed.",
    ]


def test_local_redrive_moves_every_dead_letter_back_once(queues: dict[str, str]) -> None:
    result = at_80_columns("redrive", local=True)

    assert result.exit_code == 0, result.output
    assert "Moved 3 messages from binventory-dev-counting-DeadLetterQueue-AB12 back to" in result.output
    assert bodies(queues["ingest"]) == ["s3 event 0", "s3 event 1", "s3 event 2"]
    assert bodies(queues["dead_letter"]) == []


def test_on_aws_redrive_starts_sqs_move_task_and_shows_its_status(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto answers StartMessageMoveTask with a 500: the two SQS calls are stood in for here
    started: list[tuple[str, str]] = []

    def start(sqs: Any, source: str, destination: str) -> str:
        started.append((source, destination))
        return "task-1"

    monkeypatch.setattr(moves, "start_move_task", start)
    monkeypatch.setattr(
        moves,
        "latest_move_task",
        lambda sqs, source: {
            "Status": "RUNNING",
            "ApproximateNumberOfMessagesMoved": 1,
            "ApproximateNumberOfMessagesToMove": 3,
        },
    )

    result = at_80_columns("redrive", local=False)

    assert result.exit_code == 0, result.output
    assert started == [
        (
            queues["dead_letter_arn"],
            queues["dead_letter_arn"].replace("DeadLetterQueue-AB12", "IngestQueue-CD34"),
        )
    ]
    assert (
        "Started moving about 3 messages back to binventory-dev-counting-IngestQueue-CD34 (task task-1)"
        in result.output
    )
    assert "Status: RUNNING, moved 1 of 3" in result.output
    assert bodies(queues["dead_letter"]) != []  # nothing moved by hand


def test_on_aws_queue_status_reads_the_oldest_age_from_cloudwatch(queues: dict[str, str]) -> None:
    # given: CloudWatch has no datapoint yet for either queue (a queue that just got its first message)
    shown = at_80_columns("status", "--json", local=False)

    assert shown.exit_code == 0, shown.output
    figures = {row["queue"]: row for row in json.loads(shown.output)}
    assert figures["dead-letter"]["visible"] == 3 and figures["ingest"]["visible"] == 0
    assert figures["dead-letter"]["oldest_age_seconds"] is None  # not read from the queue itself on AWS
