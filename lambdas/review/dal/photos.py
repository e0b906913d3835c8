"""Short-lived links to bin photos: the page shows each photo through a presigned S3 GET URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from contracts.inventory_schema import INCOMING_PREFIX, s3_version_id

from ..observability import tracer


class PhotoLinks:
    """Presigns GETs of photos in the ingest bucket only, each valid for `expires_in` seconds."""

    def __init__(self, s3_client: Any, *, bucket: str, expires_in: int) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.expires_in = expires_in

    @tracer.capture_method(capture_response=False)
    def url(self, bucket: str, key: str, version: str | None) -> str | None:
        """A URL for one photo version; None for a photo outside the ingest bucket (nothing else is shown)."""
        if bucket != self.bucket:
            return None
        params = {"Bucket": bucket, "Key": key}
        version_id = s3_version_id(version)
        if version_id:
            params["VersionId"] = version_id
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=self.expires_in)

    def origin(self) -> str:
        """Where the photos load from (`https://<bucket>.s3.<region>.amazonaws.com`): the page's img-src.

        Read off a link to a photo key as the page gets them (signing one makes no request).
        """
        probe = {"Bucket": self.bucket, "Key": f"{INCOMING_PREFIX}origin"}
        parts = urlsplit(
            self.s3.generate_presigned_url("get_object", Params=probe, ExpiresIn=self.expires_in)
        )
        return f"{parts.scheme}://{parts.netloc}"
