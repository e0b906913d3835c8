"""What a reviewer may send: an outcome, a count for a correction, a note; nothing else of a record."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from contracts.inventory_schema import (
    FLAGGED_STATUSES,
    MAX_REVIEW_NOTE_CHARS,
    MAX_REVIEWED_COUNT,
    RecordAttr,
    ReviewOutcome,
)

# The fields a resolution request names: which record, and what the reviewer found.
RECORD_FIELDS = ("bin_id", "record_key")
REVIEW_FIELDS = ("outcome", "count", "note")


class InvalidResolution(ValueError):
    """The request cannot be a resolution; the message says which field is wrong and what is allowed."""


@dataclass(frozen=True)
class Resolution:
    """A validated resolution of one flagged record."""

    bin_id: str
    record_key: str
    outcome: ReviewOutcome
    count: int | None = None  # CORRECTED only
    note: str | None = None


def parse_resolution(body: Any) -> Resolution:
    """A resolution from a request body, or InvalidResolution naming every problem at once."""
    if not isinstance(body, dict):
        raise InvalidResolution(
            "the body must be a JSON object with bin_id, record_key, outcome, count, note"
        )
    problems: list[str] = []
    unknown = sorted(set(body) - set(RECORD_FIELDS) - set(REVIEW_FIELDS))
    if unknown:
        problems.append(
            f"{', '.join(unknown)} cannot be changed by a review: only {', '.join(REVIEW_FIELDS)} "
            "are a reviewer's (the counting Lambda's fields stay as the model wrote them)"
        )
    identity = {name: body.get(name) for name in RECORD_FIELDS}
    for name, value in identity.items():
        if not isinstance(value, str) or not value:
            problems.append(f"{name} must name the flagged record (a non-empty string)")
    outcome = _outcome(body.get("outcome"), problems)
    count = _count(body.get("count"), outcome, problems)
    note = _note(body.get("note"), problems)
    if problems:
        raise InvalidResolution("; ".join(problems))
    assert outcome is not None
    return Resolution(str(identity["bin_id"]), str(identity["record_key"]), outcome, count, note)


def check_resolvable(record: dict[str, Any], resolution: Resolution) -> None:
    """Refuse a resolution the record cannot take: confirming a bin that has no expected quantity."""
    if (
        resolution.outcome is ReviewOutcome.CONFIRMED
        and record.get(RecordAttr.EXPECTED_QUANTITY) is None
        and record.get(RecordAttr.STATUS) in FLAGGED_STATUSES
    ):
        raise InvalidResolution(
            "this photo has no expected quantity to confirm: enter the count you see (outcome CORRECTED)"
        )


def _outcome(value: Any, problems: list[str]) -> ReviewOutcome | None:
    allowed = ", ".join(o.value for o in ReviewOutcome)
    if not isinstance(value, str) or value.upper() not in ReviewOutcome.__members__:
        problems.append(f"outcome {value!r} is not one of {allowed}")
        return None
    return ReviewOutcome(value.upper())


def _count(value: Any, outcome: ReviewOutcome | None, problems: list[str]) -> int | None:
    if outcome is not ReviewOutcome.CORRECTED:
        if value is not None:
            problems.append(f"count is given only with outcome {ReviewOutcome.CORRECTED.value}")
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not 0 <= value <= MAX_REVIEWED_COUNT:
        problems.append(
            f"count {value!r} is not a whole number of items from 0 to {MAX_REVIEWED_COUNT} "
            "(a correction says how many items the bin really holds)"
        )
        return None
    return int(value)


def _note(value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append("note must be text")
        return None
    text = value.strip()
    if len(text) > MAX_REVIEW_NOTE_CHARS:
        problems.append(f"note is {len(text)} characters long; at most {MAX_REVIEW_NOTE_CHARS} are kept")
        return None
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        problems.append("note holds control characters; write it as plain text")
        return None
    return text or None
