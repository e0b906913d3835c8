"""Announce each resolution on the inventory's event bus (`ReviewResolved`)."""

from __future__ import annotations

import json
from typing import Any

from contracts.inventory_schema import REVIEW_EVENT_SOURCE, REVIEW_RESOLVED_DETAIL_TYPE, RecordAttr

from ..observability import tracer


class EventNotPublished(Exception):
    """EventBridge refused the event (the resolution itself is already stored)."""


class ReviewEvents:
    """PutEvents of one `ReviewResolved` event per resolution; the detail is the resolved record."""

    def __init__(self, events_client: Any, event_bus_name: str) -> None:
        self.events = events_client
        self.event_bus_name = event_bus_name

    @tracer.capture_method(capture_response=False)
    def resolved(self, record: dict[str, Any]) -> None:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": REVIEW_EVENT_SOURCE,
                    "DetailType": REVIEW_RESOLVED_DETAIL_TYPE,
                    "Detail": json.dumps(record, default=str),
                    "EventBusName": self.event_bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise EventNotPublished(
                f"EventBridge refused the {REVIEW_RESOLVED_DETAIL_TYPE} event for "
                f"{record[RecordAttr.RECORD_KEY]}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
