"""Read uploaded bin images, and the ABID metadata documents beside them, from S3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..logic.notifications import UploadedObject
from ..observability import tracer

# S3 answers these when the object version is gone (deleted, or overwritten on an unversioned bucket).
_MISSING_CODES = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
_OVERWRITTEN_CODES = {"PreconditionFailed", "412"}


class ObjectMissing(Exception):
    """The notified object version no longer exists; `reason` says how it went."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredImage:
    """An image object's metadata and its bytes (empty when it is over the read limit)."""

    size: int
    content_type: str | None
    metadata: dict[str, str]  # user metadata, keys lower-case without x-amz-meta-
    data: bytes


class ImageStore:
    """Reads objects with one GetObject each: metadata and content type come back with the bytes."""

    def __init__(self, s3_client: Any) -> None:
        self.s3 = s3_client

    @tracer.capture_method(capture_response=False)
    def read_image(self, upload: UploadedObject, read_limit: int) -> StoredImage:
        """The notified version; its body is read only when it is at most `read_limit` bytes."""
        request: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            request["VersionId"] = upload.version_id
        elif upload.etag:
            # Unversioned bucket: make sure the bytes are the ones the notification (and record key) name.
            request["IfMatch"] = f'"{upload.etag.strip(chr(34))}"'
        try:
            response = self.s3.get_object(**request)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING_CODES:
                raise ObjectMissing(f"object version was deleted before processing ({code})") from error
            if code in _OVERWRITTEN_CODES:
                raise ObjectMissing("object was overwritten before processing (its ETag changed)") from error
            raise
        body = response["Body"]
        try:
            size = int(response.get("ContentLength", 0))
            data = body.read() if 0 < size <= read_limit else b""  # too big: never buffered
        finally:
            body.close()
        return StoredImage(
            size=size,
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata", {})),
            data=data,
        )

    @tracer.capture_method(capture_response=False)
    def read_document(self, bucket: str, key: str) -> bytes | None:
        """A small object's bytes, or None when there is no such object."""
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in _MISSING_CODES:
                return None
            raise
        with response["Body"] as body:
            return body.read()
