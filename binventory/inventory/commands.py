"""The `binventory inventory` command group: one command per operator question."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from binventory.inventory.expected_csv import ExpectedCsvError, read_expected_csv
from binventory.inventory.operator_inventory import OperatorInventory
from binventory.inventory.output import Column, echo_json, print_table, write_records_csv
from binventory.inventory.since import parse_since
from binventory.resources import StackResources
from contracts.inventory_schema import (
    BinStateAttr,
    ExpectedSource,
    RecordAttr,
    Status,
    format_timestamp,
    latest_record,
)
from contracts.verdict import why

# Which expectation a record or bin was judged against, in an operator's words.
SOURCE_NAMES = {
    ExpectedSource.METADATA_JSON: "ABID metadata",
    ExpectedSource.OBJECT_METADATA: "photo metadata",
    ExpectedSource.BIN_STATE: "warehouse",
    ExpectedSource.REVIEW: "review",
}
WHY = Column("why", why, wrap=True)
HISTORY_COLUMNS = (
    Column("captured (UTC)", RecordAttr.CAPTURED_AT),
    Column("status", RecordAttr.STATUS),
    Column("expected", RecordAttr.EXPECTED_QUANTITY),
    Column("count", RecordAttr.PREDICTED_COUNT),
    Column("delta", RecordAttr.DELTA, wide=True),
    Column("confidence", RecordAttr.CONFIDENCE, wide=True),
    Column("review", RecordAttr.REVIEW_OUTCOME, wide=True),
    WHY,
    Column("image", RecordAttr.IMAGE_KEY, wrap=True, wide=True),
)
BIN_COLUMNS = (
    Column("bin", BinStateAttr.BIN_ID),
    Column("expected", lambda state: bin_expectation(state)[0]),
    Column("source", lambda state: bin_expectation(state)[1], wide=True),
    Column("count", BinStateAttr.LATEST_PREDICTED_COUNT),
    Column("status", BinStateAttr.LATEST_STATUS),
    Column("confidence", BinStateAttr.LATEST_CONFIDENCE, wide=True),
    Column("captured (UTC)", BinStateAttr.LATEST_CAPTURED_AT, wide=True),
    Column("why", lambda state: latest_why(state), wrap=True),
)


def latest_why(state: dict[str, Any]) -> str | None:
    """Why the bin's latest photo has its status (None for a bin with no photo yet)."""
    return why(latest_record(state)) if BinStateAttr.LATEST_STATUS in state else None


def bin_expectation(state: dict[str, Any]) -> tuple[int | None, str | None]:
    """The expectation a bin's row shows, and where it came from.

    The latest photo's verdict was judged against the expectation that photo carried (its metadata, or the
    bin's figure at the time), so that is the one beside its count and status; a bin with no photo yet shows
    the warehouse's (or a reviewer's) figure.
    """
    if state.get(BinStateAttr.LATEST_EXPECTED_QUANTITY) is not None:
        source = state.get(BinStateAttr.LATEST_EXPECTED_SOURCE)
        return state[BinStateAttr.LATEST_EXPECTED_QUANTITY], SOURCE_NAMES.get(source, source)
    if state.get(BinStateAttr.EXPECTED_QUANTITY) is not None:
        source = state.get(BinStateAttr.EXPECTED_SOURCE) or ExpectedSource.BIN_STATE
        return state[BinStateAttr.EXPECTED_QUANTITY], SOURCE_NAMES.get(source, source)
    return None, None


def wide_option[Command: Callable[..., Any]](command: Command) -> Command:
    """`--wide`: every column; without it a table shows the columns that fit 80 characters."""
    return click.option("--wide", is_flag=True, help="Show every column (default: what fits 80 characters).")(
        command
    )


def json_option[Command: Callable[..., Any]](command: Command) -> Command:
    """`--json`: the same data as the table, for scripts."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(command)


def tables_from(ctx: click.Context) -> OperatorInventory:
    """The tables of the stage chosen on the `binventory` command line (`--stage`, `--region`)."""
    resources = ctx.find_object(StackResources) or StackResources()
    return OperatorInventory(resources)


@click.group("inventory")
def inventory_group() -> None:
    """Expected quantities in, counted and reconciled inventory out."""


@inventory_group.command("load-expected")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def load_expected(ctx: click.Context, csv_file: Path, as_json: bool) -> None:
    """Load expected quantities from a warehouse CSV.

    FILE.csv has a header row naming the columns bin_id and expected_quantity (others are
    ignored). The whole file is checked first: one malformed row loads nothing. Loading again
    is safe: it replaces the expected quantities and keeps each bin's latest count.
    """
    try:
        rows = read_expected_csv(csv_file)
    except ExpectedCsvError as error:
        raise click.ClickException(str(error)) from error
    tables = tables_from(ctx)
    loaded = tables.load_expected(rows, loaded_at=format_timestamp(datetime.now(UTC)))
    if as_json:
        echo_json({"loaded": loaded, "table": tables.bin_state_table, "file": str(csv_file)})
    else:
        click.echo(f"Loaded expected quantities for {loaded} bins into {tables.bin_state_table}.")


@inventory_group.command("bins")
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    default=None,
    help="Only bins whose latest image has this status.",
)
@wide_option
@json_option
@click.pass_context
def bins(ctx: click.Context, status: str | None, wide: bool, as_json: bool) -> None:
    """Latest state of every bin.

    Each bin's expected quantity and its latest image's status, count and confidence.
    """
    states = tables_from(ctx).bins()
    if status:
        states = [s for s in states if s.get(BinStateAttr.LATEST_STATUS) == status]
    if as_json:
        echo_json(states)
        return
    print_table(
        f"{len(states)} bins",
        BIN_COLUMNS,
        states,
        empty="No bins yet: load expected quantities or upload bin images.",
        wide=wide,
    )


@inventory_group.command("mismatches")
@click.option(
    "--since",
    "since_text",
    default=None,
    help="Only images captured since: 24h, 7d, or 2026-11-20T08:00 (UTC).",
)
@click.option("--include-low-confidence", is_flag=True, help="Also list LOW_CONFIDENCE images.")
@wide_option
@json_option
@click.pass_context
def mismatches(
    ctx: click.Context, since_text: str | None, include_low_confidence: bool, wide: bool, as_json: bool
) -> None:
    """Images whose count disagrees with the expectation.

    Newest first, from the by-status index (no table scan).
    """
    since = None
    if since_text:
        try:
            since = format_timestamp(parse_since(since_text, datetime.now(UTC)))
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--since") from error
    statuses = [Status.MISMATCH] + ([Status.LOW_CONFIDENCE] if include_low_confidence else [])
    records = tables_from(ctx).records_with_status(statuses, since)
    if as_json:
        echo_json(records)
        return
    print_table(
        f"{len(records)} images" + (f" since {since}" if since else ""),
        (Column("bin", RecordAttr.BIN_ID), *HISTORY_COLUMNS),
        records,
        empty="No mismatches" + (f" since {since}." if since else "."),
        wide=wide,
    )


@inventory_group.command("show")
@click.argument("bin_id")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show only the newest N images.")
@wide_option
@json_option
@click.pass_context
def show(ctx: click.Context, bin_id: str, limit: int | None, wide: bool, as_json: bool) -> None:
    """One bin's expectation and image history.

    The expected quantity, then every counted image of BIN_ID, newest first.
    """
    tables = tables_from(ctx)
    state = tables.bin_state(bin_id)
    history = tables.history(bin_id, limit)
    if state is None and not history:
        raise click.ClickException(
            f"Bin {bin_id!r} has no expected quantity and no images in {tables.inventory_table}: check "
            "the id (ids are strings: 01013 is not 1013), or list bins with `binventory inventory bins`."
        )
    if as_json:
        echo_json({"bin_id": bin_id, "state": state, "history": history})
        return
    click.echo(f"Bin {bin_id}: {expectation_line(state or {}, history)}")
    print_table(f"{len(history)} images", HISTORY_COLUMNS, history, empty="No images counted yet.", wide=wide)


def expectation_line(state: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The bin's expected quantity and where it comes from, in words that agree with the rows below."""
    loaded = state.get(BinStateAttr.EXPECTED_QUANTITY)
    if loaded is not None:
        source = state.get(BinStateAttr.EXPECTED_SOURCE) or ExpectedSource.BIN_STATE
        at = state.get(BinStateAttr.EXPECTED_UPDATED_AT)
        return f"expected quantity {loaded} (set by {SOURCE_NAMES.get(source, source)}" + (
            f" at {str(at)[:19].replace('T', ' ')} UTC)" if at else ")"
        )
    carried = next((r for r in history if r.get(RecordAttr.EXPECTED_QUANTITY) is not None), None)
    if carried is not None:
        source = carried.get(RecordAttr.EXPECTED_SOURCE)
        return (
            f"expected quantity {carried[RecordAttr.EXPECTED_QUANTITY]} (the latest photo's, from "
            f"{SOURCE_NAMES.get(source, source)}; none loaded now)"
        )
    return "no expected quantity (none loaded, and no photo carried one)"


@inventory_group.command("export")
@click.option(
    "--csv", "output_format", flag_value="csv", default=True, help="CSV, one row per image (default)."
)
@click.option("--json", "output_format", flag_value="json", help="A JSON array of records, for scripts.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
@click.pass_context
def export(ctx: click.Context, output_format: str, output: Path | None) -> None:
    """Export every inventory record (CSV or JSON).

    One row per counted image, all attributes; probabilities as a JSON object in CSV.
    """
    records = tables_from(ctx).all_records()
    with output.open("w", newline="", encoding="utf-8") if output else _stdout() as stream:
        if output_format == "json":
            rows = list(records)
            json.dump(rows, stream, indent=2, sort_keys=True)
            stream.write("\n")
            count = len(rows)
        else:
            count = write_records_csv(records, stream)
    if output:
        click.echo(f"Wrote {count} records to {output}.", err=True)


class _stdout:
    """Standard output as a context manager that is not closed afterwards."""

    def __enter__(self) -> Any:
        return sys.stdout

    def __exit__(self, *_: object) -> None:
        sys.stdout.flush()
