"""Request errors the endpoint answers with a 4xx status instead of crashing or answering 500.

In the SageMaker inference containers these subclass `sagemaker_inference`'s
`BaseInferenceToolkitError`, which the container's transformer turns into a response with the
error's `status_code` (boto3 then raises `ModelError` with `OriginalStatusCode`). Elsewhere
(laptop, local pipeline, tests) a stand-in base class carries the same attributes.
"""

from __future__ import annotations

try:
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:

    class _ToolkitError(Exception):  # type: ignore[no-redef]
        """Stand-in with the toolkit error's constructor and attributes."""

        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


class InferenceInputError(_ToolkitError):
    """A request the model cannot answer; `message` says what was wrong and what to send instead."""

    status_code_default = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        code = status_code if status_code is not None else self.status_code_default
        super().__init__(code, message, message)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class BadImageError(InferenceInputError):
    """400: empty body, not an image, or a truncated/corrupt image."""

    status_code_default = 400


class PayloadTooLargeError(InferenceInputError):
    """413: the body or the image's dimensions are above the limits."""

    status_code_default = 413


class UnsupportedContentTypeError(InferenceInputError):
    """415: a content type the endpoint does not read."""

    status_code_default = 415


class NotAcceptableError(InferenceInputError):
    """406: the client asked for a response type other than JSON."""

    status_code_default = 406
