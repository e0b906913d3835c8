"""The review queue: one task per bin (its latest pending flag), the likeliest errors first.

A warehouse expects one recount per bin, so the queue shows each bin once: its latest flagged photo,
with how many older flags of the same bin still wait. Those older flags stay pending (each photo is
judged on its own: it is also a training label) and come up, one at a time, once the newer one is
resolved. The order is `contracts.inventory_schema.review_priority`, highest first; ties go to the
oldest photo, so nothing waits forever behind newer flags.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contracts.inventory_schema import RecordAttr, review_priority


@dataclass(frozen=True)
class QueueEntry:
    """A bin's task: its latest pending flagged record, and the older flags of the bin still pending."""

    record: dict[str, Any]
    priority: float
    older_pending: int


def build_queue(pending: Iterable[dict[str, Any]]) -> list[QueueEntry]:
    """Pending flagged records -> one entry per bin, most likely errors first."""
    by_bin: dict[str, list[dict[str, Any]]] = {}
    for record in pending:
        by_bin.setdefault(str(record[RecordAttr.BIN_ID]), []).append(record)
    entries = []
    for records in by_bin.values():
        records.sort(key=lambda r: (r[RecordAttr.CAPTURED_AT], r[RecordAttr.RECORD_KEY]), reverse=True)
        latest = records[0]
        entries.append(QueueEntry(latest, review_priority(latest), older_pending=len(records) - 1))
    return sorted(
        entries, key=lambda e: (-e.priority, e.record[RecordAttr.CAPTURED_AT], e.record[RecordAttr.BIN_ID])
    )
