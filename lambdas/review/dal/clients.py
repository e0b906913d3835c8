"""boto3 clients for the review Lambda: few retries (a person is waiting), SigV4 for presigned photo URLs.

Endpoint URLs come from the standard `AWS_ENDPOINT_URL_*` variables, which is how the local pipeline points
this same code at moto (and so presigned URLs at moto's S3, where the page's photos then load from).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
# Presigned URLs must be SigV4 (regional) so that they carry an expiry S3 enforces (X-Amz-Expires).
S3_CONFIG = DEFAULT_CONFIG.merge(Config(signature_version="s3v4"))


def make_client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A client for `service` with the review Lambda's settings (default session if none)."""
    config = S3_CONFIG if service == "s3" else DEFAULT_CONFIG
    return session.client(service, config=config) if session else boto3.client(service, config=config)
