"""Tell subscribers about images that need a person's look, on the EventBridge bus."""

from __future__ import annotations

import json
from typing import Any

from contracts.inventory_schema import EVENT_DETAIL_TYPES, EVENT_SOURCE, FLAGGED_STATUSES

from ..logic.records import InventoryRecord
from ..observability import tracer


class EventNotPublished(Exception):
    """EventBridge refused the event; the record is failed so that SQS retries it."""


def needs_event(record: InventoryRecord) -> bool:
    """Flagged records are announced; the others are not."""
    return record.status in FLAGGED_STATUSES


class EventPublisher:
    """PutEvents on one bus; the detail is the record itself (`record_key` identifies duplicates)."""

    def __init__(self, events_client: Any, event_bus_name: str) -> None:
        self.events = events_client
        self.event_bus_name = event_bus_name

    @tracer.capture_method(capture_response=False)
    def publish(self, record: InventoryRecord) -> None:
        """Announce one record whose status has a detail type; raise if EventBridge refuses it."""
        response = self.events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": EVENT_DETAIL_TYPES[record.status],
                    "Detail": json.dumps(record.attributes()),
                    "EventBusName": self.event_bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise EventNotPublished(
                f"EventBridge refused the {record.status.value} event for {record.record_key}: "
                f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
