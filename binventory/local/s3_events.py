"""moto's S3 event notifications made AWS-shaped: a versioned bucket's event names its object version.

On AWS every upload to a versioned bucket is a version of its own, and its event carries `versionId`, so
the counting Lambda records each upload once, by version. moto 5 leaves `versionId` out, which made the
local record key fall back to the ETag: two quick overwrites of one key recorded the first as
OBJECT_MISSING, and the same bytes uploaded again with a new expectation were taken for a duplicate. moto
builds each event with one module function, so the local pipeline wraps it once, in its own process (where
moto's server runs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.s3 import notifications

_MARK = "_binventory_adds_version_id"


def add_version_ids_to_moto_events() -> None:
    """Make moto's S3 events carry `versionId` for versioned objects, as AWS's do (idempotent)."""
    original: Callable[..., dict[str, Any]] = notifications._get_s3_event
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def with_version_id(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        version_id = getattr(key, "version_id", None)
        if version_id and version_id != "null":
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = version_id
        return event

    setattr(with_version_id, _MARK, True)
    notifications._get_s3_event = with_version_id
