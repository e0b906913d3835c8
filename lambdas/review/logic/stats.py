"""Weekly review figures: flags raised and resolved, how many were real errors, time to resolve, accuracy.

"Real error" is what the warehouse pays a person to find: a CORRECTED resolution whose count differs
from the expected quantity. The precision of flags is real errors / judged flags, where judged flags are
resolutions that say something about the expectation (CONFIRMED or CORRECTED, with an expected quantity):
an UNREADABLE photo tells neither way, so it is left out of the precision and counted on its own. The
model's accuracy on reviewed photos compares its predicted count with the reviewed count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from contracts.inventory_schema import RecordAttr, ReviewOutcome, iso_week, reviewed_count


@dataclass(frozen=True)
class WeekStats:
    """One ISO week's review figures (None where there is nothing to divide by)."""

    week: str
    flags_raised: int
    flags_resolved: int
    confirmed: int
    corrected: int
    unreadable: int
    real_errors: int
    judged: int
    precision: float | None
    median_hours_to_resolve: float | None
    p90_hours_to_resolve: float | None
    reviewed_with_count: int
    model_correct: int
    model_accuracy: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_real_error(record: dict[str, Any]) -> bool:
    """A correction that differs from the expected quantity: the flag caught a wrong expectation."""
    expected = record.get(RecordAttr.EXPECTED_QUANTITY)
    return (
        record.get(RecordAttr.REVIEW_OUTCOME) == ReviewOutcome.CORRECTED
        and expected is not None
        and int(record[RecordAttr.REVIEWED_COUNT]) != int(expected)
    )


def weekly_stats(
    weeks: Iterable[str], raised: Iterable[dict[str, Any]], resolved: Iterable[dict[str, Any]]
) -> list[WeekStats]:
    """Figures for each of `weeks` (ISO `2026-W50`): flags by capture week, resolutions by review week."""
    raised_by_week: dict[str, int] = {}
    for record in raised:
        week = iso_week(record[RecordAttr.CAPTURED_AT])
        raised_by_week[week] = raised_by_week.get(week, 0) + 1
    resolved_by_week: dict[str, list[dict[str, Any]]] = {}
    for record in resolved:
        resolved_by_week.setdefault(iso_week(record[RecordAttr.REVIEWED_AT]), []).append(record)
    return [_week(week, raised_by_week.get(week, 0), resolved_by_week.get(week, [])) for week in weeks]


def _week(week: str, raised: int, resolved: list[dict[str, Any]]) -> WeekStats:
    outcomes = [r.get(RecordAttr.REVIEW_OUTCOME) for r in resolved]
    judged = [
        r
        for r in resolved
        if r.get(RecordAttr.REVIEW_OUTCOME) in (ReviewOutcome.CONFIRMED, ReviewOutcome.CORRECTED)
        and r.get(RecordAttr.EXPECTED_QUANTITY) is not None
    ]
    real_errors = sum(1 for r in judged if is_real_error(r))
    hours = sorted(_hours(r[RecordAttr.CAPTURED_AT], r[RecordAttr.REVIEWED_AT]) for r in resolved)
    counted = [
        r for r in resolved if reviewed_count(r) is not None and r.get(RecordAttr.PREDICTED_COUNT) is not None
    ]
    correct = sum(1 for r in counted if int(r[RecordAttr.PREDICTED_COUNT]) == reviewed_count(r))
    return WeekStats(
        week=week,
        flags_raised=raised,
        flags_resolved=len(resolved),
        confirmed=outcomes.count(ReviewOutcome.CONFIRMED),
        corrected=outcomes.count(ReviewOutcome.CORRECTED),
        unreadable=outcomes.count(ReviewOutcome.UNREADABLE),
        real_errors=real_errors,
        judged=len(judged),
        precision=real_errors / len(judged) if judged else None,
        median_hours_to_resolve=_quantile(hours, 0.5),
        p90_hours_to_resolve=_quantile(hours, 0.9),
        reviewed_with_count=len(counted),
        model_correct=correct,
        model_accuracy=correct / len(counted) if counted else None,
    )


def _hours(start: str, end: str) -> float:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return max(0.0, (parse(end) - parse(start)).total_seconds() / 3600)


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank quantile (the median of 1..4 hours is 2): a reviewer's wait that really happened."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]
