"""The demo's summary: catches and false alarms are counted by one definition of a flag."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from binventory.local.report import Outcome, render_table, summarize, write_html_report
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


def counted(name: str, expected: int | None, predicted: int, status: str, **record: object) -> Outcome:
    planned = PlannedImage(
        key=f"incoming/{name}/a.jpg",
        bin_id=name,
        image_id="a.jpg",
        true_count=predicted,
        expected=expected,
        expected_via="object_metadata",
        source_path=PHOTO,
    )
    return Outcome(planned, {"status": status, "predicted_count": predicted, "confidence": 0.93, **record})


PHOTO = Path(__file__).parent / "report-photo.png"


@pytest.fixture(autouse=True)
def photo() -> Iterator[None]:
    Image.new("RGB", (64, 48), (200, 120, 40)).save(PHOTO)
    yield
    PHOTO.unlink()


def report_of(outcomes: list[Outcome], tmp_path: Path, synthetic: bool) -> str:
    path = write_html_report(
        outcomes, summarize(outcomes, 0), tmp_path / "index.html", "Run", synthetic=synthetic
    )
    return path.read_text()


def test_the_report_on_synthetic_data_says_synthetic(tmp_path: Path) -> None:
    outcomes = [counted("bin-1", 3, 3, "MATCH")]

    synthetic = report_of(outcomes, tmp_path, synthetic=True)
    real = report_of(outcomes, tmp_path, synthetic=False)

    assert (
        "<title>Run (synthetic data)</title>" in synthetic
        and '<p class="synthetic">Synthetic data:' in synthetic
    )
    assert "synthetic" not in real.split("</style>", 1)[1].lower()


def test_a_bin_with_no_expectation_and_a_valid_photo_shows_its_photo(tmp_path: Path) -> None:
    page = report_of([counted("bin-unknown", None, 2, "NO_EXPECTATION")], tmp_path, synthetic=False)

    card = page.split('<div class="card">', 1)[1].split("</div></div>", 1)[0]
    assert '<img src="data:image/jpeg;base64,' in card and "(no valid image)" not in card


def test_each_card_gives_its_confidence_and_the_rules_reason(tmp_path: Path) -> None:
    rule = {
        "expected_quantity": 4,
        "expected_probability": 0.2,
        "wrong_probability": 0.12,
        "look_above": 0.0136,
    }
    page = report_of([counted("bin-4", 4, 5, "LOW_CONFIDENCE", **rule)], tmp_path, synthetic=False)

    card = page.split('<div class="card">', 1)[1]
    assert "confidence 0.93" in card and "P(4)=0.20, wrong 12% &gt; 1.4%" in card


def test_every_bin_is_in_a_sortable_table(tmp_path: Path) -> None:
    outcomes = [counted(f"bin-{n}", n, n, "MATCH") for n in range(5)] + [counted("bin-x", 2, 4, "MISMATCH")]

    page = report_of(outcomes, tmp_path, synthetic=False)

    table = page.split('id="all-bins"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + len(outcomes)  # heading + one row per bin, MATCH included
    assert 'addEventListener("click"' in page and "table.bins th" in page


def test_snapshot_the_demo_table_at_80_columns() -> None:
    rule = {"expected_probability": 0.41, "wrong_probability": 0.009, "look_above": 0.0136}
    outcomes = [
        counted(
            "bin-0003",
            0,
            2,
            "MISMATCH",
            expected_quantity=0,
            expected_probability=0.001,
            wrong_probability=0.99,
            look_above=0.0136,
        ),
        counted("bin-0012", 4, 5, "MATCH", expected_quantity=4, **rule),
        Outcome(
            PlannedImage(
                "incoming/bin-bad-text/notes.jpg",
                "bin-bad-text",
                "notes.jpg",
                None,
                3,
                "object_metadata",
                invalid_reason="not an image",
            ),
            {
                "status": "INVALID_IMAGE",
                "reason": "the file is not a JPEG or PNG (it starts with b'this is a')",
            },
        ),
    ]
    outcomes[1] = Outcome(replace(outcomes[1].planned, planted_error=True), outcomes[1].record)
    console = Console(width=80, record=True, color_system=None)

    render_table(outcomes, console)

    lines = [line.rstrip() for line in console.export_text().splitlines() if line.strip()]
    assert lines == [
        "Reconciliation",
        " bin            expected  count  conf  status         why",
        " " + "─" * 78,
        " bin-bad-text          3      -     -  INVALID_IMAGE  the file is not a JPEG or",
        "                                                      PNG (it starts with",
        "                                                      b'this is a')",
        " bin-0003              0      2  0.93  MISMATCH       P(0)=<0.01, wrong 99% ≥",
        "                                                      50%",
        " bin-0012*             4      5  0.93  MATCH          P(4)=0.41, wrong 0.90% ≤",
        "                                                      1.4%",
        "* a planted error: the expected quantity was made wrong on purpose",
    ]
