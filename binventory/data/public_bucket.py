"""Read the public ABID bucket without credentials, and write its objects to disk only once verified.

A file lands under its final name only after its size (and MD5, where the ETag is one) matches
the object and, for metadata, it parses as JSON; so a file that exists is a file that is whole,
and a re-run can skip it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from contracts import stack_outputs

PUBLIC_BUCKET = stack_outputs.PUBLIC_DATASET_BUCKET
PUBLIC_BUCKET_REGION = stack_outputs.PUBLIC_DATASET_REGION
IMAGES_PREFIX = stack_outputs.PUBLIC_IMAGES_PREFIX
METADATA_PREFIX = stack_outputs.PUBLIC_METADATA_PREFIX
PART_SUFFIX = ".part"
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1024 * 1024


class NotInPublicBucket(Exception):
    """The bucket has no object under this key (re-running will not help)."""


class VerificationFailed(Exception):
    """What was written does not match the object (re-running downloads it again)."""


@dataclass(frozen=True)
class ObjectFacts:
    """What the bucket says about an object, enough to check a local copy."""

    size: int
    etag: str

    @property
    def md5(self) -> str | None:
        """The ETag is the MD5 only for objects uploaded in one part."""
        return self.etag if _MD5_ETAG.match(self.etag) else None


def image_key(image_id: str) -> str:
    return f"{IMAGES_PREFIX}{image_id}.jpg"


def metadata_key(image_id: str) -> str:
    return f"{METADATA_PREFIX}{image_id}.json"


def public_client(max_workers: int) -> Any:
    """An S3 client that sends unsigned requests (no AWS account needed) with a pool per worker."""
    config = Config(
        signature_version=UNSIGNED,
        max_pool_connections=max(10, max_workers),
        retries={"max_attempts": 5, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", region_name=PUBLIC_BUCKET_REGION, config=config)


def object_facts(client: Any, bucket: str, key: str) -> ObjectFacts:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _is_not_found(error):
            raise NotInPublicBucket(key) from error
        raise
    return ObjectFacts(size=int(head["ContentLength"]), etag=head["ETag"].strip('"'))


@dataclass(frozen=True)
class JsonObject:
    """A small object read into memory (sampled metadata), kept so it can be saved without a re-read."""

    body: bytes
    parsed: Any
    facts: ObjectFacts


def read_json_object(client: Any, bucket: str, key: str) -> JsonObject:
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _is_not_found(error):
            raise NotInPublicBucket(key) from error
        raise
    body = response["Body"].read()
    facts = ObjectFacts(size=int(response["ContentLength"]), etag=response["ETag"].strip('"'))
    try:
        return JsonObject(body=body, parsed=json.loads(body), facts=facts)
    except ValueError as error:
        raise VerificationFailed(f"{key} is not valid JSON") from error


def is_verified(path: Path, facts: ObjectFacts) -> bool:
    """True when the local file matches the object's size, MD5 and (for .json) parses."""
    try:
        check_file(path, facts)
    except (OSError, VerificationFailed):
        return False
    return True


def check_file(path: Path, facts: ObjectFacts) -> None:
    size = path.stat().st_size
    if size != facts.size:
        raise VerificationFailed(f"{path.name}: {size} bytes written, the object has {facts.size}")
    if facts.md5 is not None:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != facts.md5:
            raise VerificationFailed(f"{path.name}: MD5 differs from the object's ETag")
    if path.suffix == ".json" or path.name.endswith(".json" + PART_SUFFIX):
        try:
            json.loads(path.read_bytes())
        except ValueError as error:
            raise VerificationFailed(f"{path.name} is not valid JSON") from error


def download_verified(client: Any, bucket: str, key: str, path: Path, facts: ObjectFacts) -> None:
    """Stream the object to `<path>.part`, check it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PART_SUFFIX)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        if _is_not_found(error):
            raise NotInPublicBucket(key) from error
        raise
    with partial.open("wb") as handle:
        for chunk in body.iter_chunks(_CHUNK):
            handle.write(chunk)
    check_file(partial, facts)
    os.replace(partial, path)


def write_verified(body: bytes, path: Path, facts: ObjectFacts) -> None:
    """Write bytes already read (sampled metadata) with the same check-then-rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PART_SUFFIX)
    partial.write_bytes(body)
    check_file(partial, facts)
    os.replace(partial, path)


def _is_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}
