"""The demo's summary: catches and false alarms are counted by one definition of a flag."""

from __future__ import annotations

from pathlib import Path

from binventory.local.demo import _held_out_ids
from binventory.local.report import Outcome, summarize
from binventory.local.uploads import PlannedImage
from contracts.fixed_split import read_split


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


def test_the_demo_shows_a_recipe_model_only_photos_it_never_trained_on(
    abid_dir: Path, tmp_path: Path
) -> None:
    test_ids = {image_id for image_id, part in read_split().items() if part == "test"}
    assert _held_out_ids(abid_dir) == test_ids
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "not-abid.jpg").write_bytes(b"")
    assert _held_out_ids(tmp_path) is None  # any other folder uploads whole
