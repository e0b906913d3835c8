"""Turn away what is obviously not an image before paying for an endpoint call.

The Lambda never decodes images (the model server does); it only looks at the size and the
first bytes, which is enough to catch empty uploads, oversized files and non-image files.
"""

from __future__ import annotations

from enum import Enum

# Content types the endpoint accepts for image bytes (model_code/inference.py).
ENDPOINT_IMAGE_TYPES = ("image/jpeg", "image/png", "application/x-image")


class ImageFormat(Enum):
    """Image formats the endpoint decodes, with their signatures and content types."""

    JPEG = (b"\xff\xd8\xff", "image/jpeg")
    PNG = (b"\x89PNG\r\n\x1a\n", "image/png")

    @property
    def signature(self) -> bytes:
        return self.value[0]

    @property
    def content_type(self) -> str:
        return self.value[1]


def size_problem(size: int, max_bytes: int) -> str | None:
    """Why an object of `size` bytes cannot be sent to the endpoint, or None if it can."""
    if size <= 0:
        return "empty object (0 bytes)"
    if size > max_bytes:
        return f"object is {size} bytes, over the {max_bytes}-byte limit for the endpoint"
    return None


def detect_format(data: bytes) -> ImageFormat | None:
    """The image format the leading bytes announce, or None when they announce none we accept."""
    for image_format in ImageFormat:
        if data.startswith(image_format.signature):
            return image_format
    return None


def format_problem(data: bytes) -> str | None:
    """Why these bytes are not a JPEG or PNG image, or None if their signature is one."""
    if detect_format(data) is not None:
        return None
    return f"not a JPEG or PNG image (first bytes {data[:8].hex(' ')})"


def endpoint_content_type(stored_content_type: str | None, data: bytes) -> str:
    """The object's own content type when the endpoint accepts it, else the one its bytes announce.

    Uploads without a content type arrive as `binary/octet-stream`, which the endpoint would refuse.
    """
    declared = (stored_content_type or "").split(";")[0].strip().lower()
    if declared in ENDPOINT_IMAGE_TYPES:
        return declared
    detected = detect_format(data)
    return detected.content_type if detected else "application/x-image"
