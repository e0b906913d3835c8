"""moto's S3 event notifications made AWS-shaped: a versioned bucket's event names its object version.

On AWS every upload to a versioned bucket is a version of its own, and its event carries `versionId`, so
the counting Lambda records each upload once, by version. moto 5 leaves `versionId` out, which made the
local record key fall back to the ETag: two quick overwrites of one key recorded the first as
OBJECT_MISSING, and the same bytes uploaded again with a new expectation were taken for a duplicate. moto
builds each event with one module function, so the local pipeline wraps it once, in its own process (where
moto's server runs).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from moto.s3 import notifications

_MARK = "_binventory_adds_version_id"


@contextlib.contextmanager
def moto_events_with_version_ids() -> Iterator[None]:
    """While open, moto's S3 events carry `versionId` for versioned objects, as AWS's do; moto's own
    behaviour is back once it closes (other moto users in the same process, tests among them, see moto)."""
    original: Callable[..., dict[str, Any]] = notifications._get_s3_event
    if getattr(original, _MARK, False):  # an emulator already running in this process added it
        yield
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
    try:
        yield
    finally:
        notifications._get_s3_event = original
