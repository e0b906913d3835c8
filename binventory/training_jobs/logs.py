"""Print a run's training-job logs from CloudWatch, optionally following them until the run ends.

One stream-name prefix selects them (see `runs.log_stream_prefix`): a training job's streams, or
those of every trial of a tuning job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass
class LogCursor:
    """Where each stream was last read up to, so a poll prints only new lines."""

    tokens: dict[str, str] = field(default_factory=dict)


def print_new_events(logs: Any, stream_prefix: str, cursor: LogCursor, echo: Callable[[str], None]) -> int:
    """Print the events appended since the last call; returns how many were printed."""
    printed = 0
    for stream in _streams(logs, stream_prefix):
        while True:
            request = {"logGroupName": TRAINING_LOG_GROUP, "logStreamName": stream, "startFromHead": True}
            if stream in cursor.tokens:
                request["nextToken"] = cursor.tokens[stream]
            response = logs.get_log_events(**request)
            for event in response["events"]:
                echo(f"[{stream}] {event['message'].rstrip()}")
                printed += 1
            unchanged = response["nextForwardToken"] == cursor.tokens.get(stream)
            cursor.tokens[stream] = response["nextForwardToken"]
            if unchanged or not response["events"]:
                break
    return printed


def follow(
    logs: Any,
    stream_prefix: str,
    run_finished: Callable[[], bool],
    echo: Callable[[str], None],
    *,
    poll_seconds: float,
    max_wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll until the run finishes (then drain once more) or the wait runs out; True when it finished."""
    cursor = LogCursor()
    deadline = clock() + max_wait_seconds
    while True:
        finished = run_finished()
        print_new_events(logs, stream_prefix, cursor, echo)
        if finished:
            return True
        if clock() + poll_seconds > deadline:
            return False
        sleep(poll_seconds)


def _streams(logs: Any, prefix: str) -> list[str]:
    names: list[str] = []
    request: dict[str, Any] = {"logGroupName": TRAINING_LOG_GROUP, "logStreamNamePrefix": prefix}
    try:
        while True:
            response = logs.describe_log_streams(**request)
            names += [stream["logStreamName"] for stream in response.get("logStreams", [])]
            if not response.get("nextToken"):
                return names
            request["nextToken"] = response["nextToken"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        raise
