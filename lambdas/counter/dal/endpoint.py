"""Ask the SageMaker endpoint how many items an image shows.

The model answers a bad image with a 4xx (400 undecodable, 413 too large, 415 content type), which
boto3 raises as `ModelError` carrying `OriginalStatusCode`: that is the image's fault, so it becomes
`ImageRejected`, whose reason keeps the model's message without the traceback the inference toolkit
appends to it. Everything else (5xx, ModelNotReady, throttling, timeouts) propagates as it is:
transient, the caller fails the record and SQS retries it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from botocore.exceptions import ClientError

from ..logic.reconcile import MalformedPrediction
from ..observability import tracer

# 4xx answers that are about load or time, not about the image: retried like a 5xx.
_RETRYABLE_CLIENT_STATUSES = {408, 429}
# Where Python's traceback.format_exc() output begins; sagemaker_inference appends it to error messages.
_TRACEBACK_START = "Traceback (most recent call last):"


class ImageRejected(Exception):
    """The model refused the image itself; `reason` carries its status and message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CountingEndpoint:
    """One SageMaker real-time endpoint answering with the documented prediction JSON."""

    def __init__(self, runtime_client: Any, endpoint_name: str) -> None:
        self.runtime = runtime_client
        self.endpoint_name = endpoint_name

    @tracer.capture_method(capture_response=False)
    def predict(self, image: bytes, content_type: str) -> dict[str, Any]:
        """The endpoint's response JSON for these image bytes."""
        try:
            response = self.runtime.invoke_endpoint(
                EndpointName=self.endpoint_name,
                Body=image,
                ContentType=content_type,
                Accept="application/json",
            )
        except ClientError as error:
            rejection = _rejection(error)
            if rejection:
                raise ImageRejected(rejection) from error
            raise
        with response["Body"] as body:
            payload = body.read()
        try:
            return json.loads(payload)
        except ValueError as error:
            raise MalformedPrediction(f"endpoint answered with non-JSON: {payload[:200]!r}") from error


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
