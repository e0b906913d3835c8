"""The demo's summary: catches and false alarms are counted by one definition of a flag."""

from __future__ import annotations

from binventory.local.report import Outcome, summarize
from binventory.local.uploads import PlannedImage


def outcome(name: str, true_count: int, expected: int, status: str) -> Outcome:
    planned = PlannedImage(
        key=f"incoming/{name}/a.jpg",
        bin_id=name,
        image_id=name,
        true_count=true_count,
        expected=expected,
        expected_via="object_metadata",
        planted_error=expected != true_count,
    )
    return Outcome(planned, {"status": status, "predicted_count": true_count, "confidence": 0.4})


def test_low_confidence_counts_as_a_catch_and_as_a_false_alarm_alike() -> None:
    # given two planted errors and three correct expectations, one of each sent to a person as unsure
    outcomes = [
        outcome("caught-unsure", 3, 4, "LOW_CONFIDENCE"),
        outcome("missed", 3, 2, "MATCH"),
        outcome("false-alarm-unsure", 2, 2, "LOW_CONFIDENCE"),
        outcome("false-alarm-mismatch", 2, 2, "MISMATCH"),
        outcome("cleared", 5, 5, "MATCH"),
    ]

    # when summarised
    summary = summarize(outcomes, dead_letters=0)

    # then a flag is a flag, whichever side of the ledger it lands on
    assert (summary.planted_errors_flagged, summary.planted_errors) == (1, 2)
    assert (summary.false_alarms, summary.correct_expectations) == (2, 3)
    assert summary.cleared_automatically == 1
