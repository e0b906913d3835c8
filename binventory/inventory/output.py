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

# Columns of `inventory export`, in the order of docs/ARCHITECTURE.md.
RECORD_COLUMNS = (
    "bin_id",
    "record_key",
    "image_bucket",
    "image_key",
    "image_version",
    "captured_at",
    "processed_at",
    "status",
    "reason",
    "predicted_count",
    "predicted_label",
    "confidence",
    "probabilities",
    "model_version",
    "expected_quantity",
    "expected_source",
    "delta",
)
_STATUS_STYLES = {
    "MATCH": "green",
    "MISMATCH": "bold red",
    "LOW_CONFIDENCE": "yellow",
    "NO_EXPECTATION": "dim",
    "INVALID_IMAGE": "magenta",
    "OBJECT_MISSING": "magenta",
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
    "expected_quantity",
    "latest_predicted_count",
    "latest_confidence",
    "latest_expected_quantity",
    "predicted_count",
    "confidence",
    "delta",
}


def _cell(attribute: str, value: Any) -> Text:
    """Plain text (never rich markup, so a bin id like `[A1]` shows as itself)."""
    if value is None:
        return Text("-", style="dim")
    if attribute.endswith("confidence") and isinstance(value, int | float):
        return Text(f"{value:.2f}")
    if attribute == "delta" and isinstance(value, int):
        return Text(f"{value:+d}")
    if attribute.endswith("status"):
        return Text(str(value), style=_STATUS_STYLES.get(str(value), ""))
    return Text(str(value))
