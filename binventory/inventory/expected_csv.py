"""Read the expected-quantity CSV a warehouse system exports (bin_id, expected_quantity)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from contracts.abid_labels import MalformedExpectation, parse_quantity

REQUIRED_COLUMNS = ("bin_id", "expected_quantity")
MAX_REPORTED_PROBLEMS = 20


class ExpectedCsvError(ValueError):
    """The file cannot be loaded; the message names every bad line (up to a limit)."""


@dataclass(frozen=True)
class ExpectedRow:
    """One bin's expected quantity, and the line it came from."""

    bin_id: str
    expected_quantity: int
    line: int


def read_expected_csv(path: Path) -> list[ExpectedRow]:
    """Every row of the file, or ExpectedCsvError naming each malformed line; bin ids stay strings."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(csv.DictReader(handle), path.name)
    except UnicodeDecodeError as error:
        message = f"{path.name} is not UTF-8 text ({error.reason}); save it as UTF-8 CSV"
        raise ExpectedCsvError(message) from error


def _parse(reader: csv.DictReader, name: str) -> list[ExpectedRow]:
    columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(reader.fieldnames or []) or "nothing"
        raise ExpectedCsvError(
            f"{name} line 1: the header must name the columns {', '.join(REQUIRED_COLUMNS)} "
            f"(found: {found}); missing {', '.join(missing)}"
        )
    rows: list[ExpectedRow] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        bin_id = (record.get(columns["bin_id"]) or "").strip()
        raw_quantity = record.get(columns["expected_quantity"])
        if not bin_id:
            problems.append(f"line {line}: bin_id is empty")
            continue
        if raw_quantity is None:
            problems.append(f"line {line}: bin {bin_id} has no expected_quantity value")
            continue
        try:
            quantity = parse_quantity(raw_quantity)
        except MalformedExpectation as error:
            problems.append(f"line {line}: {error}")
            continue
        if bin_id in first_line:
            problems.append(f"line {line}: bin {bin_id} is already given on line {first_line[bin_id]}")
            continue
        first_line[bin_id] = line
        rows.append(ExpectedRow(bin_id, quantity, line))
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        listing = "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")
        summary = f"{name} has {len(problems)} malformed row(s); nothing was loaded"
        raise ExpectedCsvError(f"{summary}:\n  {listing}")
    if not rows:
        raise ExpectedCsvError(f"{name} has a header but no rows: nothing to load")
    return rows
