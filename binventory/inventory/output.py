"""Show query results: rich tables for people, JSON for scripts, CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import click
from rich import box
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


WIDE_WIDTH = 400


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@dataclass(frozen=True)
class Column:
    """One column of a table: its heading, the attribute (or function of the row) it shows, and its width.

    Short columns (ids, numbers, statuses) never wrap and are never cut; `wrap` columns (why, reason, keys)
    take the room left and wrap at spaces, so nothing is cut to `confide…`. `wide` columns show with --wide.
    """

    heading: str
    value: str | Callable[[dict[str, Any]], Any]
    wrap: bool = False
    wide: bool = False
    number: bool = False  # right-aligned (attributes known to be numbers are, without saying)

    def cell(self, row: dict[str, Any]) -> Text:
        if callable(self.value):
            shown = self.value(row)
            return shown if isinstance(shown, Text) else _cell("", shown)
        return _cell(self.value, row.get(self.value))

    @property
    def numeric(self) -> bool:
        return self.number or (isinstance(self.value, str) and self.value in _NUMERIC)


def print_table(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    empty: str,
    *,
    wide: bool = False,
    console: Console | None = None,
) -> None:
    """A table of `rows`: at 80 characters (a pipe, a narrow terminal) the columns that fit, --wide all."""
    rows = list(rows)
    # --wide asks for every column whatever the terminal's width: lines may run past it, but none is cut.
    console = console or (Console(width=WIDE_WIDTH) if wide else Console())
    if not rows:
        console.print(empty)
        return
    shown = [column for column in columns if wide or not column.wide]
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 1),
    )
    cells = [[column.cell(row) for column in shown] for row in rows]
    for index, column in enumerate(shown):
        if column.wrap:
            table.add_column(column.heading, overflow="fold", ratio=1, min_width=12)
        else:
            widest = max([len(column.heading), *(cell.cell_len for cell in (r[index] for r in cells))])
            table.add_column(
                column.heading,
                justify="right" if column.numeric else "left",
                no_wrap=True,
                min_width=widest,
            )
    for row_cells in cells:
        table.add_row(*row_cells)
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
    """Plain text (never rich markup, so a bin id like `[A1]` shows as itself); 0 is 0, absent is `-`."""
    if value is None or value == "":
        return Text("-", style="dim")
    if attribute.endswith(("captured_at", "updated_at", "reviewed_at")) and isinstance(value, str):
        return Text(value[:19].replace("T", " "))
    if attribute.endswith(("confidence", "priority")) and isinstance(value, int | float):
        return Text(f"{value:.2f}")
    if attribute == RecordAttr.DELTA and isinstance(value, int):
        return Text(f"{value:+d}")
    if attribute.endswith((RecordAttr.STATUS, RecordAttr.REVIEW_OUTCOME)):
        return Text(str(value), style=STYLES.get(str(value), ""))
    return Text(str(value))
