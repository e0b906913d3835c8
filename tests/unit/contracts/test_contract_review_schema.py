"""Statuses, review outcomes and attribute names are written once, in contracts.inventory_schema; every part
that shows or counts them reads them from there, and this test names the part that forgot one."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from rich.console import Console

from binventory.inventory.output import STYLES
from binventory.local import report
from contracts import inventory_schema
from contracts.inventory_schema import (
    EVENT_DETAIL_TYPES,
    FLAGGED_STATUSES,
    LATEST_FROM_RECORD,
    REVIEW_ATTRIBUTES,
    REVIEW_PRESENTATION,
    STATUS_PRESENTATION,
    BinStateAttr,
    CounterMetric,
    RecordAttr,
    ReviewMetric,
    ReviewOutcome,
    Status,
    review_priority,
    reviewed_count,
)
from lambdas.counter.api import InventoryRecord
from lambdas.review.service import legend

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_one_look_that_the_cli_the_report_and_the_page_all_use(status: Status) -> None:
    look = STATUS_PRESENTATION.get(status)
    assert look is not None, f"contracts.inventory_schema.STATUS_PRESENTATION lacks {status}"
    assert look.colour.startswith("#") and len(look.colour) == 7 and look.description
    assert STYLES.get(status.value) == look.style, "binventory/inventory/output.py shows it in another style"
    assert report._status_style(status.value) == look.style, "binventory/local/report.py"
    assert status in report.REPORT_ORDER, "binventory/local/report.py's table has no place for it"
    assert legend()["statuses"][status.value]["colour"] == look.colour, "the review page's legend lacks it"
    Console().render_str(f"[{look.style}]x[/]")  # a style rich knows


@pytest.mark.parametrize("outcome", list(ReviewOutcome))
def test_every_review_outcome_has_a_look_a_metric_and_a_place_in_the_legend(outcome: ReviewOutcome) -> None:
    look = REVIEW_PRESENTATION.get(outcome)
    assert look is not None, f"contracts.inventory_schema.REVIEW_PRESENTATION lacks {outcome}"
    assert STYLES.get(outcome.value) == look.style, "binventory/inventory/output.py"
    assert legend()["outcomes"][outcome.value]["description"] == look.description, "the review page's legend"
    assert ReviewMetric.for_outcome(outcome).startswith("Review")


def test_metric_names_tell_every_status_and_outcome_apart() -> None:
    assert len({CounterMetric.for_status(s) for s in Status}) == len(Status)
    assert len({ReviewMetric.for_outcome(o) for o in ReviewOutcome}) == len(ReviewOutcome)


def test_every_flagged_status_is_announced_and_only_those() -> None:
    assert set(EVENT_DETAIL_TYPES) == FLAGGED_STATUSES


def test_the_counting_lambda_writes_exactly_the_record_attributes_the_contract_names() -> None:
    contract = {v for k, v in vars(RecordAttr).items() if k.isupper()}
    written = {field.name for field in dataclasses.fields(InventoryRecord)}
    review_and_index = set(REVIEW_ATTRIBUTES)
    assert written == contract - review_and_index


def test_every_latest_attribute_of_the_bin_state_mirrors_a_record_attribute() -> None:
    latest = {v for k, v in vars(BinStateAttr).items() if k.startswith("LATEST_")}
    record = {v for k, v in vars(RecordAttr).items() if k.isupper()}
    assert set(LATEST_FROM_RECORD) == latest and set(LATEST_FROM_RECORD.values()) <= record


def test_the_queue_puts_the_likeliest_wrong_expectation_first() -> None:
    # given P(expected) of three flagged records, and one without an expectation
    unlikely = {"expected_quantity": 2, "expected_probability": 0.05}
    doubtful = {"expected_quantity": 2, "expected_probability": 0.35}
    unexpected = {"expected_quantity": None, "expected_probability": None}

    # then the least likely expectation is the most likely error; no expectation comes last
    assert review_priority(unlikely) == pytest.approx(0.95)
    assert review_priority(unlikely) > review_priority(doubtful) > review_priority(unexpected) == 0.0


def test_a_resolved_photo_is_labelled_with_what_the_reviewer_found() -> None:
    record = {"expected_quantity": 3, "predicted_count": 4}
    assert reviewed_count({**record, "review_outcome": "CONFIRMED"}) == 3
    assert reviewed_count({**record, "review_outcome": "CORRECTED", "reviewed_count": 5}) == 5
    assert reviewed_count({**record, "review_outcome": "UNREADABLE"}) is None
    assert reviewed_count(record) is None


def test_iso_weeks_cover_both_ends_across_a_new_year() -> None:
    weeks = inventory_schema.iso_weeks_between("2025-12-28T23:00:00.000000Z", "2026-01-12T01:00:00.000000Z")
    assert weeks == ["2025-W52", "2026-W01", "2026-W02", "2026-W03"]


_NAMES_THAT_LIVE_IN_CONTRACTS = {"MISMATCH", "LOW_CONFIDENCE", "expected_updated_at"}


def _literal_duplicates(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value in _NAMES_THAT_LIVE_IN_CONTRACTS or (
                    value.startswith("latest_") and value.isidentifier()
                ):
                    found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {value!r}")
    return found


@pytest.mark.parametrize("folder", ["binventory", "lambdas", "stacks"])
def test_statuses_and_bin_state_names_are_not_restated_outside_contracts(folder: str) -> None:
    assert _literal_duplicates(REPO_ROOT / folder) == []
