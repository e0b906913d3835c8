"""The `binventory queue` command group: how full the ingest and dead-letter queues are, and redrive."""

from __future__ import annotations

from typing import Any

import click

from binventory.aws_errors import AwsCommandGroup
from binventory.inventory.output import Column, echo_json, print_table
from binventory.local_meaning import running_locally
from binventory.queue import moves
from binventory.resources import StackResources
from contracts import stack_outputs

QUEUE_COLUMNS = (
    Column("queue", "queue"),
    Column("name", "name", wrap=True, wide=True),
    Column("waiting", "visible", number=True),
    Column("in flight", "in_flight", number=True),
    Column("oldest", "oldest"),
)


def _queues(resources: StackResources) -> tuple[str, str]:
    return (
        resources.output("counting", stack_outputs.INGEST_QUEUE_URL),
        resources.output("counting", stack_outputs.DEAD_LETTER_QUEUE_URL),
    )


def _arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _age(seconds: float | None, measured: bool) -> str:
    if seconds is None:
        return "-" if measured else "n/a locally"
    if seconds < 60:
        return "< 1 min"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.group("queue", cls=AwsCommandGroup)
def queue_group() -> None:
    """The ingest queue and its dead-letter queue: depth, age, and moving dead letters back."""


@queue_group.command("status")
@click.option("--wide", is_flag=True, help="Show every column (default: what fits 80 characters).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def status_command(resources: StackResources, wide: bool, as_json: bool) -> None:
    """Messages waiting and in flight on each queue, and the age of the oldest.

    On AWS the age is SQS's ApproximateAgeOfOldestMessage (CloudWatch, last 5 minutes). Locally the
    dead-letter queue's is read from its messages; the ingest queue's is not measured there (reading it
    would spend the messages' receives).
    """
    sqs = resources.client("sqs")
    ingest_url, dead_letter_url = _queues(resources)
    local = running_locally()
    now = moves.now_utc()
    rows = []
    for label, url in (("ingest", ingest_url), ("dead-letter", dead_letter_url)):
        visible, in_flight = moves.depth(sqs, url)
        if local:
            age = moves.oldest_age_by_reading(sqs, url, now) if url == dead_letter_url else None
            measured = url == dead_letter_url
        else:
            age = moves.oldest_age_from_cloudwatch(resources.client("cloudwatch"), url, now)
            measured = True
        rows.append(
            {
                "queue": label,
                "name": moves.queue_name(url),
                "visible": visible,
                "in_flight": in_flight,
                "oldest_age_seconds": age,
                "oldest": _age(age, measured),
            }
        )
    if as_json:
        echo_json([{k: v for k, v in row.items() if k != "oldest"} for row in rows])
        return
    print_table("Queues", QUEUE_COLUMNS, rows, empty="", wide=wide)
    if rows[1]["visible"]:
        click.echo("Dead letters wait: `binventory queue redrive` moves them back once the cause is fixed.")


@queue_group.command("redrive")
@click.option("--wait", is_flag=True, help="On AWS: follow the move task until it finishes.")
@click.option(
    "--timeout", type=click.IntRange(min=1), default=600, show_default=True, help="Seconds --wait waits."
)
@click.pass_obj
def redrive_command(resources: StackResources, wait: bool, timeout: int) -> None:
    """Move every dead-lettered message back to the ingest queue, to be counted again.

    Fix what failed them first (the reasons are in the counting Lambda's log). On AWS this starts SQS's
    own message move task and prints its status; locally the messages are moved one batch at a time.
    Nothing is counted twice: a photo already recorded is acknowledged as a duplicate.
    """
    sqs = resources.client("sqs")
    ingest_url, dead_letter_url = _queues(resources)
    waiting, _ = moves.depth(sqs, dead_letter_url)
    if running_locally():
        moved = moves.move_back_locally(sqs, dead_letter_url, ingest_url)
        click.echo(
            f"Moved {moved} messages from {moves.queue_name(dead_letter_url)} back to "
            f"{moves.queue_name(ingest_url)}."
        )
        return
    if waiting == 0:
        click.echo(f"{moves.queue_name(dead_letter_url)} is empty: nothing to redrive.")
        return
    dead_letter_arn = _arn(sqs, dead_letter_url)
    handle = moves.start_move_task(sqs, dead_letter_arn, _arn(sqs, ingest_url))
    click.echo(
        f"Started moving about {waiting} messages back to {moves.queue_name(ingest_url)} (task {handle})."
    )
    task = (
        moves.wait_for_move_task(sqs, dead_letter_arn, timeout)
        if wait
        else moves.latest_move_task(sqs, dead_letter_arn)
    )
    if task:
        click.echo(
            f"Status: {task.get('Status')}, moved {task.get('ApproximateNumberOfMessagesMoved', 0)} of "
            f"{task.get('ApproximateNumberOfMessagesToMove', waiting)}"
            + (f" ({task['FailureReason']})" if task.get("FailureReason") else "")
            + ("" if wait else "; follow it with `binventory queue status`.")
        )
