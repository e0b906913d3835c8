"""boto3 clients for the Lambda, with retries tuned for throttling and endpoint timeouts fit to the time left.

Endpoint URLs come from the standard `AWS_ENDPOINT_URL_*` variables (plain boto3 honours them),
which is how the local pipeline points this same code at moto and a local model server.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# SageMaker ends an invocation after 60 s; waiting a little longer lets its own timeout answer first.
ENDPOINT_READ_TIMEOUT = 65
ENDPOINT_CONNECT_TIMEOUT = 2
# No botocore retries: `EndpointClient` retries itself, only while the invocation's deadline allows.
ENDPOINT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    read_timeout=ENDPOINT_READ_TIMEOUT,
    connect_timeout=ENDPOINT_CONNECT_TIMEOUT,
)
# Few attempts: SQS redelivers a failed record later, which is a gentler retry than a tight loop.
DYNAMODB_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=5, read_timeout=10)
DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)

_CONFIGS = {"sagemaker-runtime": ENDPOINT_CONFIG, "dynamodb": DYNAMODB_CONFIG}


def make_client(
    service: str, session: boto3.session.Session | None = None, config: Config | None = None
) -> Any:
    """A client for `service` with this Lambda's retry and timeout settings (default session if none)."""
    config = config or _CONFIGS.get(service, DEFAULT_CONFIG)
    return session.client(service, config=config) if session else boto3.client(service, config=config)


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
