"""Show query results: rich tables for people, JSON for scripts, CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from contracts.inventory_schema import REVIEW_PRESENTATION, STATUS_PRESENTATION, BinStateAttr, RecordAttr

# Columns of `inventory export`, in the order of docs/ARCHITECTURE.md, then the review's.
RECORD_COLUMNS = (
    RecordAttr.BIN_ID,
    RecordAttr.RECORD_KEY,
    RecordAttr.IMAGE_BUCKET,
    RecordAttr.IMAGE_KEY,
    RecordAttr.IMAGE_VERSION,
    RecordAttr.CAPTURED_AT,
    RecordAttr.PROCESSED_AT,
    RecordAttr.STATUS,
    RecordAttr.REASON,
    RecordAttr.PREDICTED_COUNT,
    RecordAttr.PREDICTED_LABEL,
    RecordAttr.CONFIDENCE,
    RecordAttr.PROBABILITIES,
    RecordAttr.MODEL_VERSION,
    RecordAttr.EXPECTED_QUANTITY,
    RecordAttr.EXPECTED_SOURCE,
    RecordAttr.DELTA,
    RecordAttr.REVIEW_OUTCOME,
    RecordAttr.REVIEWED_COUNT,
    RecordAttr.REVIEWER,
    RecordAttr.REVIEWED_AT,
    RecordAttr.REVIEW_NOTE,
)
# Status and review outcome styles, by value: one colour each, from the contract.
STYLES = {status.value: look.style for status, look in STATUS_PRESENTATION.items()} | {
    outcome.value: look.style for outcome, look in REVIEW_PRESENTATION.items()
}


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def print_table(
    title: str, columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], empty: str
) -> None:
    """A table of `rows` showing (heading, attribute) `columns`; `empty` when there are none."""
    rows = list(rows)
    console = Console()
    if not rows:
        console.print(empty)
        return
    table = Table(title=title, title_justify="left")
    for heading, attribute in columns:
        justify = "right" if attribute in _NUMERIC else "left"
        table.add_column(heading, justify=justify, no_wrap=attribute == "bin_id")
    for row in rows:
        table.add_row(*(_cell(attribute, row.get(attribute)) for _, attribute in columns))
    console.print(table)


def write_records_csv(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write records as CSV (probabilities as a JSON object); returns how many rows."""
    writer = csv.DictWriter(stream, fieldnames=RECORD_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for record in records:
        row = dict(record)
        if "probabilities" in row:
            row["probabilities"] = json.dumps(row["probabilities"], sort_keys=True)
        writer.writerow(row)
        count += 1
    return count


_NUMERIC = {
    RecordAttr.EXPECTED_QUANTITY,
    BinStateAttr.LATEST_PREDICTED_COUNT,
    BinStateAttr.LATEST_CONFIDENCE,
    BinStateAttr.LATEST_EXPECTED_QUANTITY,
    RecordAttr.PREDICTED_COUNT,
    RecordAttr.CONFIDENCE,
    RecordAttr.DELTA,
    RecordAttr.REVIEWED_COUNT,
    "priority",
}


def _cell(attribute: str, value: Any) -> Text:
    """Plain text (never rich markup, so a bin id like `[A1]` shows as itself)."""
    if value is None:
        return Text("-", style="dim")
    if attribute.endswith(("confidence", "priority")) and isinstance(value, int | float):
        return Text(f"{value:.2f}")
    if attribute == RecordAttr.DELTA and isinstance(value, int):
        return Text(f"{value:+d}")
    if attribute.endswith((RecordAttr.STATUS, RecordAttr.REVIEW_OUTCOME)):
        return Text(str(value), style=STYLES.get(str(value), ""))
    return Text(str(value))
