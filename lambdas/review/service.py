"""Reviewing flagged bins: the queue, one bin's flags, a resolution, the weekly figures.

Knows nothing of Lambda or HTTP: the handler adapts API requests to it, and the operator CLI
(`binventory review ...`) drives the same service with the operator's credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from contracts.inventory_schema import (
    FLAGGED_STATUSES,
    REVIEW_PRESENTATION,
    STATUS_PRESENTATION,
    RecordAttr,
    format_timestamp,
    iso_week,
    iso_weeks_between,
)

from .configuration import ReviewConfiguration
from .dal.clients import make_client
from .dal.events import ReviewEvents
from .dal.photos import PhotoLinks
from .dal.reviews import NotResolvable, ReviewedRecord, ReviewRepository
from .logic.queue import QueueEntry, build_queue
from .logic.resolution import Resolution, check_resolvable
from .logic.stats import WeekStats, weekly_stats


class AlreadyResolved(Exception):
    """Another reviewer resolved the flag first; the message says who and when."""


class NotAFlag(Exception):
    """The record was never flagged, so there is nothing to resolve."""


@dataclass(frozen=True)
class Progress:
    """Today's work (UTC day): flags resolved today, of those resolved today plus those still waiting."""

    resolved_today: int
    total_today: int

    def as_dict(self) -> dict[str, int]:
        return {"resolved_today": self.resolved_today, "total_today": self.total_today}


def legend() -> dict[str, Any]:
    """Every status and review outcome with its colour and description: the page draws its legend from it."""
    return {
        "statuses": {
            s.value: {"colour": p.colour, "description": p.description}
            for s, p in STATUS_PRESENTATION.items()
        },
        "outcomes": {
            o.value: {"colour": p.colour, "description": p.description}
            for o, p in REVIEW_PRESENTATION.items()
        },
    }


class ReviewService:
    """The review queue and its resolutions over one stage's tables, photos and event bus."""

    def __init__(
        self,
        *,
        repository: ReviewRepository,
        photos: PhotoLinks,
        events: ReviewEvents,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repository = repository
        self.photos = photos
        self.events = events
        self.clock = clock

    @classmethod
    def from_configuration(
        cls, configuration: ReviewConfiguration, session: boto3.session.Session | None = None
    ) -> ReviewService:
        return cls(
            repository=ReviewRepository(
                make_client("dynamodb", session),
                inventory_table=configuration.inventory_table,
                bin_state_table=configuration.bin_state_table,
            ),
            photos=PhotoLinks(
                make_client("s3", session),
                bucket=configuration.ingest_bucket,
                expires_in=configuration.photo_url_seconds,
            ),
            events=ReviewEvents(make_client("events", session), configuration.event_bus_name),
        )

    def queue(self) -> list[QueueEntry]:
        """One task per bin, most likely errors first."""
        return build_queue(self.repository.pending())

    def progress(self, queue_pending: int) -> Progress:
        """ "12 of 54 today": resolutions since midnight UTC, of those plus the flags still pending."""
        now = self.clock()
        midnight = format_timestamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
        done = len(self.repository.resolved_between(midnight, format_timestamp(now)))
        return Progress(resolved_today=done, total_today=done + queue_pending)

    def entry_view(self, entry: QueueEntry) -> dict[str, Any]:
        """A queue entry as the page and the CLI show it: the record's fields, priority, photo URL."""
        record = entry.record
        return {
            **record,
            "priority": round(entry.priority, 4),
            "older_pending": entry.older_pending,
            "photo_url": self.photos.url(
                record[RecordAttr.IMAGE_BUCKET],
                record[RecordAttr.IMAGE_KEY],
                record.get(RecordAttr.IMAGE_VERSION),
            ),
        }

    def queue_view(self, limit: int | None = None) -> dict[str, Any]:
        """The queue (at most `limit` bins, each with a fresh photo URL), today's progress and the legend."""
        entries = self.queue()
        pending_flags = sum(1 + e.older_pending for e in entries)
        return {
            "bins": len(entries),
            "pending_flags": pending_flags,
            "entries": [self.entry_view(e) for e in entries[:limit]],
            "progress": self.progress(pending_flags).as_dict(),
            "legend": legend(),
            "photo_url_seconds": self.photos.expires_in,
        }

    def bin_view(self, bin_id: str) -> dict[str, Any] | None:
        """One bin's task (its latest pending flag) and its expectation; None when none of it is pending."""
        entries = [e for e in self.queue() if e.record[RecordAttr.BIN_ID] == bin_id]
        if not entries:
            return None
        return {"entry": self.entry_view(entries[0]), "state": self.repository.bin_state(bin_id)}

    def resolve(self, resolution: Resolution, *, reviewer: str) -> ReviewedRecord:
        """Store a resolution and announce it; AlreadyResolved / NotAFlag when it is no pending flag."""
        record = self.repository.record(resolution.bin_id, resolution.record_key)
        _refuse_unless_pending(record)
        check_resolvable(record, resolution)
        try:
            reviewed = self.repository.resolve(
                resolution, reviewer=reviewer, reviewed_at=format_timestamp(self.clock())
            )
        except NotResolvable as conflict:
            _refuse_unless_pending(conflict.args[0])
            raise
        self.events.resolved(reviewed.record)
        return reviewed

    def stats(self, weeks: int) -> list[WeekStats]:
        """The last `weeks` ISO weeks' figures (this week included), oldest first."""
        now = self.clock()
        since_moment = (now - timedelta(days=7 * (weeks - 1))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        since_moment -= timedelta(days=since_moment.weekday())
        since, until = format_timestamp(since_moment), format_timestamp(now)
        return weekly_stats(
            iso_weeks_between(since, until),
            raised=self.repository.flags_raised_since(since),
            resolved=self.repository.resolved_between(since, until),
        )


def _refuse_unless_pending(record: dict[str, Any]) -> None:
    if record.get(RecordAttr.REVIEW_OUTCOME):
        raise AlreadyResolved(
            f"already resolved as {record[RecordAttr.REVIEW_OUTCOME]} by {record.get(RecordAttr.REVIEWER)} "
            f"at {record.get(RecordAttr.REVIEWED_AT)} (week {iso_week(record[RecordAttr.REVIEWED_AT])})"
        )
    if record.get(RecordAttr.STATUS) not in FLAGGED_STATUSES:
        raise NotAFlag(
            f"record {record[RecordAttr.RECORD_KEY]} of bin {record[RecordAttr.BIN_ID]} is "
            f"{record.get(RecordAttr.STATUS)}, not flagged: there is nothing to resolve"
        )
