"""boto3 clients for the Lambda, with retries tuned for throttling.

Endpoint URLs come from the standard `AWS_ENDPOINT_URL_*` variables (plain boto3 honours them),
which is how the local pipeline points this same code at moto and a local model server.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Adaptive mode also slows the client down when the endpoint throttles, instead of only retrying.
ENDPOINT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, read_timeout=70, connect_timeout=5)
# Few attempts: SQS redelivers a failed record later, which is a gentler retry than a tight loop.
DYNAMODB_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=5, read_timeout=10)
DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)

_CONFIGS = {"sagemaker-runtime": ENDPOINT_CONFIG, "dynamodb": DYNAMODB_CONFIG}


def make_client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A client for `service` with this Lambda's retry and timeout settings (default session if none)."""
    config = _CONFIGS.get(service, DEFAULT_CONFIG)
    return session.client(service, config=config) if session else boto3.client(service, config=config)
