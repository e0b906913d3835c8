"""Find the bin images under an S3 prefix, as the counting Lambda would have been told about them.

Only keys the Lambda is notified for (`incoming/<bin>/...`, `bin-images/<id>.<ext>`) are taken.
Each object becomes the `UploadedObject` an S3 notification would have carried: the version id on a
versioned bucket, else the ETag, so a backfilled image and a notified one share one record key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import click

from contracts.inventory_schema import NOTIFIED_PREFIXES, UnroutableKey, bin_id_for_key, format_timestamp
from lambdas.counter.api import UploadedObject, detect_format, size_problem

# The longest image signature the Lambda checks (PNG's).
SIGNATURE_BYTES = 8


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
            raise click.BadParameter(
                f"{uri!r} is not an S3 URI such as s3://bucket/incoming/", param_hint="URI"
            )
        bucket, _, prefix = uri[5:].partition("/")
        return cls(bucket, prefix)

    @property
    def folder(self) -> str:
        """The prefix up to its last `/`: what manifest entries are relative to."""
        return self.prefix[: self.prefix.rfind("/") + 1]


@dataclass(frozen=True)
class BinImage:
    """One object under the prefix, as a notification would describe it."""

    upload: UploadedObject
    size: int


def images_to_transform(
    s3: Any, images: Sequence[BinImage], max_image_bytes: int, workers: int
) -> list[BinImage]:
    """The images the Lambda would send to its endpoint: right size, and JPEG/PNG by their first bytes.

    One model error fails a whole transform job, so what the Lambda would turn away (and record as
    INVALID_IMAGE itself) is never sent; this costs one ranged GET of 8 bytes per image.
    """
    sized = [image for image in images if size_problem(image.size, max_image_bytes) is None]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        signed = list(pool.map(lambda image: _starts_like_an_image(s3, image.upload), sized))
    return [image for image, ok in zip(sized, signed, strict=True) if ok]


def _starts_like_an_image(s3: Any, upload: UploadedObject) -> bool:
    request: dict[str, Any] = {
        "Bucket": upload.bucket,
        "Key": upload.key,
        "Range": f"bytes=0-{SIGNATURE_BYTES - 1}",
    }
    if upload.version_id:
        request["VersionId"] = upload.version_id
    return detect_format(s3.get_object(**request)["Body"].read()) is not None


def list_bin_images(s3: Any, location: S3Location) -> tuple[list[BinImage], int]:
    """The routable objects under the prefix, and how many others were left out."""
    images: list[BinImage] = []
    skipped = 0
    for item in _current_versions(s3, location):
        key = item["Key"]
        if key.endswith("/") or not key.startswith(NOTIFIED_PREFIXES):
            skipped += 1
            continue
        try:
            bin_id_for_key(key)
        except UnroutableKey:
            skipped += 1
            continue
        upload = UploadedObject(
            bucket=location.bucket,
            key=key,
            version_id=item.get("VersionId"),
            etag=item["ETag"].strip('"'),
            event_time=format_timestamp(item["LastModified"]),
        )
        images.append(BinImage(upload=upload, size=int(item["Size"])))
    return images, skipped


def _current_versions(s3: Any, location: S3Location) -> Iterator[dict[str, Any]]:
    """Listed objects; on a versioned bucket the latest versions, with their version ids."""
    where = {"Bucket": location.bucket, "Prefix": location.prefix}
    if s3.get_bucket_versioning(Bucket=location.bucket).get("Status") != "Enabled":
        for page in s3.get_paginator("list_objects_v2").paginate(**where):
            yield from page.get("Contents", [])
        return
    for page in s3.get_paginator("list_object_versions").paginate(**where):
        yield from (version for version in page.get("Versions", []) if version.get("IsLatest"))
