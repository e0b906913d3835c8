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


def answer_request_errors_without_traceback() -> None:
    """Make the inference toolkit answer a request error (4xx) with its message alone.

    The toolkit's transformer answers every error with "<message>\\n<Python traceback>" (`handle_error`),
    which tells a caller the container's file layout and code for a bad image. Its own log keeps the
    traceback; the body of a 4xx now carries only the message a caller acts on. Errors of our own code (5xx)
    are left as the toolkit writes them. A no-op where the toolkit is not installed (laptop, local pipeline).
    """
    try:
        from sagemaker_inference.transformer import Transformer
    except ImportError:
        return
    toolkit_handle_error = Transformer.handle_error
    if getattr(toolkit_handle_error, "answers_without_traceback", False):
        return

    def handle_error(context: object, inference_exception: _ToolkitError, trace: str) -> list[str]:
        answer = toolkit_handle_error(context, inference_exception, trace)
        if isinstance(inference_exception, InferenceInputError) and inference_exception.status_code < 500:
            return [inference_exception.message]
        return answer

    handle_error.answers_without_traceback = True  # type: ignore[attr-defined]
    Transformer.handle_error = staticmethod(handle_error)  # type: ignore[method-assign]
