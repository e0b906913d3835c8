"""Read S3 upload notifications out of the SQS message bodies S3 sends them in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from contracts.inventory_schema import format_timestamp

TEST_EVENT = "s3:TestEvent"


class MalformedMessage(ValueError):
    """The message is not an S3 event notification this Lambda can act on."""


@dataclass(frozen=True)
class UploadedObject:
    """One object version S3 says was created."""

    bucket: str
    key: str
    version_id: str | None  # set when the bucket is versioned
    etag: str | None
    event_time: str  # inventory_schema.format_timestamp form

    @property
    def version(self) -> str:
        """What identifies this version in the record key: the version id, else the ETag."""
        return self.version_id or self.etag or ""


@dataclass(frozen=True)
class Notification:
    """What one SQS message holds: uploads, other S3 events to ignore, or S3's test event."""

    uploads: tuple[UploadedObject, ...] = ()
    ignored_events: tuple[str, ...] = ()
    is_test_event: bool = False


def parse_notification(body: str) -> Notification:
    """The uploads in one SQS message body; MalformedMessage if it is no S3 notification."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise MalformedMessage(f"message body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedMessage("message body is not a JSON object")
    if document.get("Event") == TEST_EVENT:
        return Notification(is_test_event=True)
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedMessage("message body has no S3 event Records")
    uploads: list[UploadedObject] = []
    ignored: list[str] = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise MalformedMessage("an event record does not come from aws:s3")
        event_name = str(record.get("eventName", ""))
        if event_name.startswith("ObjectCreated:"):
            uploads.append(_uploaded_object(record))
        else:
            ignored.append(event_name or "<no eventName>")
    return Notification(uploads=tuple(uploads), ignored_events=tuple(ignored))


def _uploaded_object(record: dict[str, Any]) -> UploadedObject:
    try:
        bucket = record["s3"]["bucket"]["name"]
        stored = record["s3"]["object"]
        key = unquote_plus(stored["key"])
        event_time = _normalise_time(record["eventTime"])
    except (KeyError, TypeError, ValueError) as error:
        problem = f"S3 event record lacks bucket, key or a valid eventTime ({error!r})"
        raise MalformedMessage(problem) from error
    version_id = stored.get("versionId")
    etag = stored.get("eTag")
    if not (version_id or etag):
        raise MalformedMessage(f"S3 event for {bucket}/{key} has neither versionId nor eTag")
    return UploadedObject(bucket=bucket, key=key, version_id=version_id, etag=etag, event_time=event_time)


def _normalise_time(value: str) -> str:
    """`2026-11-21T15:01:34.123Z` -> the fixed-width form the tables sort by."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
