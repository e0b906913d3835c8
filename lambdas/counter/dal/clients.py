"""boto3 clients for the Lambda, with retries tuned for throttling and every attempt fit to the time left.

Endpoint URLs come from the standard `AWS_ENDPOINT_URL_*` variables (plain boto3 honours them),
which is how the local pipeline points this same code at moto and a local model server.

The endpoint's calls fit the record's deadline through `RuntimeClientPool`. Every other client (S3,
DynamoDB, EventBridge) starts an attempt, first or retried, only while the deadline `calls_bounded_by` set
leaves time for that attempt's connect and read timeouts; otherwise the call raises `OutOfTime` and the
record goes back to SQS (the handler defers it) instead of the invocation timing out mid-batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import boto3
from botocore.config import Config

from ..deadline import NO_DEADLINE, Deadline, OutOfTime

# SageMaker ends an invocation after 60 s; waiting a little longer lets its own timeout answer first.
ENDPOINT_READ_TIMEOUT = 65
ENDPOINT_CONNECT_TIMEOUT = 2
# No botocore retries: `EndpointClient` retries itself, only while the invocation's deadline allows.
ENDPOINT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    read_timeout=ENDPOINT_READ_TIMEOUT,
    connect_timeout=ENDPOINT_CONNECT_TIMEOUT,
)
# Few attempts: SQS redelivers a failed record later, which is a gentler retry than a tight loop. Short
# timeouts: an attempt starts only when they fit before the deadline, so they set how late one may start.
DYNAMODB_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=2, read_timeout=5)
# S3 reads an image of up to counting.max_image_bytes (4 MB): 10 s is 400 KB/s at worst.
DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)

# Sending a deferred message again happens after the deadline, in the time the handler keeps back.
REQUEUE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=3)

_CONFIGS = {"sagemaker-runtime": ENDPOINT_CONFIG, "dynamodb": DYNAMODB_CONFIG}
_CALL_DEADLINE: ContextVar[Deadline] = ContextVar("binventory_call_deadline", default=NO_DEADLINE)


@contextmanager
def calls_bounded_by(deadline: Deadline) -> Iterator[None]:
    """Within this block, no S3, DynamoDB or EventBridge attempt starts that could outlast `deadline`."""
    token = _CALL_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


def make_client(
    service: str, session: boto3.session.Session | None = None, config: Config | None = None
) -> Any:
    """A client for `service` with this Lambda's retry and timeout settings (default session if none)."""
    config = config or _CONFIGS.get(service, DEFAULT_CONFIG)
    client = session.client(service, config=config) if session else boto3.client(service, config=config)
    if service != "sagemaker-runtime":  # RuntimeClientPool fits its calls to the deadline itself
        attempt_seconds = float(config.connect_timeout) + float(config.read_timeout)
        client.meta.events.register_first("before-send", _AttemptGuard(service, attempt_seconds))
    return client


class _AttemptGuard:
    """botocore's `before-send` hook, which runs before every HTTP attempt (retries included)."""

    def __init__(self, service: str, attempt_seconds: float) -> None:
        self.service = service
        self.attempt_seconds = attempt_seconds

    def __call__(self, request: Any, **_: Any) -> None:
        left = _CALL_DEADLINE.get().remaining()
        if left < self.attempt_seconds:
            raise OutOfTime(
                f"{max(left, 0.0):.1f} s left before the invocation's deadline: too little for a "
                f"{self.service} attempt, which may take {self.attempt_seconds:.0f} s"
            )


class RuntimeClientPool:
    """sagemaker-runtime clients whose read timeout fits the seconds an attempt may take.

    A timeout is fixed when a client is made, so there is one client per whole second of read
    timeout (at most `ENDPOINT_READ_TIMEOUT`), each made on first use and kept.
    """

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._clients: dict[int, Any] = {}

    def __call__(self, seconds: float) -> Any:
        """A client whose connect and read timeouts together stay within `seconds` (and at least 1 s)."""
        read_timeout = max(1, int(min(ENDPOINT_READ_TIMEOUT, seconds - ENDPOINT_CONNECT_TIMEOUT)))
        if read_timeout not in self._clients:
            config = ENDPOINT_CONFIG.merge(Config(read_timeout=read_timeout))
            self._clients[read_timeout] = make_client("sagemaker-runtime", self._session, config)
        return self._clients[read_timeout]
