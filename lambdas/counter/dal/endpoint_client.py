"""Ask the SageMaker endpoint how many items an image shows, within the invocation's deadline.

The model answers a bad image with a 4xx (400 undecodable, 413 too large, 415 content type), which
boto3 raises as `ModelError` carrying `OriginalStatusCode`: that is the image's fault, so it becomes
`ImageRejected`, whose reason keeps the model's message without the traceback the inference toolkit
appends to it. Throttling, 5xx and lost connections are retried while the deadline leaves time;
then they, and everything else (ModelNotReady, the model's own 5xx), propagate as they are:
transient, the caller fails the record and SQS retries it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from time import sleep
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from contracts.model_answer import MalformedPrediction

from ..deadline import NO_DEADLINE, Deadline, OutOfTime
from ..observability import tracer
from .clients import RuntimeClientPool

# 4xx answers that are about load or time, not about the image: retried like a 5xx.
_RETRYABLE_CLIENT_STATUSES = {408, 429}
# Where Python's traceback.format_exc() output begins; sagemaker_inference appends it to error messages.
_TRACEBACK_START = "Traceback (most recent call last):"
# The first attempt and two retries, each only when the deadline leaves MIN_ATTEMPT_SECONDS for it.
MAX_ATTEMPTS = 3
# Less than this and an attempt could not even connect and read a fast answer.
MIN_ATTEMPT_SECONDS = 4.0
RETRY_BASE_SECONDS = 0.5
# SageMaker runtime errors that pass with time (besides any 5xx that is not the model's own answer).
_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException"}


class ImageRejected(Exception):
    """The model refused the image itself; `reason` carries its status and message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EndpointClient:
    """One SageMaker real-time endpoint answering with the documented prediction JSON."""

    def __init__(self, clients: RuntimeClientPool, endpoint_name: str) -> None:
        self.clients = clients
        self.endpoint_name = endpoint_name

    @tracer.capture_method(capture_response=False)
    def predict(self, image: bytes, content_type: str, deadline: Deadline = NO_DEADLINE) -> dict[str, Any]:
        """The endpoint's response JSON for these image bytes; each attempt ends before `deadline`.

        Raises `OutOfTime` when too little time is left to ask (again), so the record is retried later.
        """
        attempt = 0
        while True:
            attempt += 1
            seconds = deadline.remaining()
            if seconds < MIN_ATTEMPT_SECONDS:
                raise OutOfTime(
                    f"{max(seconds, 0.0):.1f} s left before the invocation's deadline: too little to ask the "
                    f"endpoint (attempt {attempt})"
                )
            try:
                response = self.clients(seconds).invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    Body=image,
                    ContentType=content_type,
                    Accept="application/json",
                )
            except ClientError as error:
                rejection = _rejection(error)
                if rejection:
                    raise ImageRejected(rejection) from error
                if attempt == MAX_ATTEMPTS or not _passes_with_time(error):
                    raise
            except (BotoConnectionError, HTTPClientError):  # includes read timeouts
                if attempt == MAX_ATTEMPTS:
                    raise
            else:
                return _prediction(response)
            sleep(min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), max(0.0, deadline.remaining())))


def _prediction(response: dict[str, Any]) -> dict[str, Any]:
    with response["Body"] as body:
        payload = body.read()
    try:
        return json.loads(payload)
    except ValueError as error:
        raise MalformedPrediction(f"endpoint answered with non-JSON: {payload[:200]!r}") from error


def _passes_with_time(error: ClientError) -> bool:
    """Throttling, or a 5xx from SageMaker itself (a ModelError is the model's answer, HTTP 424)."""
    code = error.response.get("Error", {}).get("Code")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _THROTTLING_CODES or (status >= 500 and code != "ModelError")


def _rejection(error: ClientError) -> str | None:
    """The reason to record when the model refused the image (a 4xx ModelError), else None."""
    if error.response.get("Error", {}).get("Code") != "ModelError":
        return None
    try:
        status = int(error.response.get("OriginalStatusCode", 0))
    except (TypeError, ValueError):
        return None
    if not 400 <= status < 500 or status in _RETRYABLE_CLIENT_STATUSES:
        return None
    message = error.response.get("OriginalMessage")
    if message is None:
        message = error.response.get("Error", {}).get("Message", "")
    # The inference toolkit answers "<message>\n<traceback>"; a record keeps the message a person acts on.
    message = message.split(_TRACEBACK_START, 1)[0].strip() or HTTPStatus(status).phrase
    return f"model rejected the image ({status}): {message}"[:1000]
