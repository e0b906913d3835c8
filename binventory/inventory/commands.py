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
from binventory.inventory.output import echo_json, print_table, write_records_csv
from binventory.inventory.since import parse_since
from binventory.resources import StackResources
from contracts.inventory_schema import BinStateAttr, RecordAttr, Status, format_timestamp

HISTORY_COLUMNS = (
    ("captured at", RecordAttr.CAPTURED_AT),
    ("status", RecordAttr.STATUS),
    ("count", RecordAttr.PREDICTED_COUNT),
    ("expected", RecordAttr.EXPECTED_QUANTITY),
    ("delta", RecordAttr.DELTA),
    ("confidence", RecordAttr.CONFIDENCE),
    ("review", RecordAttr.REVIEW_OUTCOME),
    ("image", RecordAttr.IMAGE_KEY),
    ("reason", RecordAttr.REASON),
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
@json_option
@click.pass_context
def bins(ctx: click.Context, status: str | None, as_json: bool) -> None:
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
        (
            ("bin", BinStateAttr.BIN_ID),
            ("expected", BinStateAttr.EXPECTED_QUANTITY),
            ("source", BinStateAttr.EXPECTED_SOURCE),
            ("latest status", BinStateAttr.LATEST_STATUS),
            ("count", BinStateAttr.LATEST_PREDICTED_COUNT),
            ("confidence", BinStateAttr.LATEST_CONFIDENCE),
            ("captured at", BinStateAttr.LATEST_CAPTURED_AT),
        ),
        states,
        empty="No bins yet: load expected quantities or upload bin images.",
    )


@inventory_group.command("mismatches")
@click.option(
    "--since",
    "since_text",
    default=None,
    help="Only images captured since: 24h, 7d, or 2026-11-20T08:00 (UTC).",
)
@click.option("--include-low-confidence", is_flag=True, help="Also list LOW_CONFIDENCE images.")
@json_option
@click.pass_context
def mismatches(
    ctx: click.Context, since_text: str | None, include_low_confidence: bool, as_json: bool
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
        (("bin", RecordAttr.BIN_ID), *HISTORY_COLUMNS[:-1]),
        records,
        empty="No mismatches" + (f" since {since}." if since else "."),
    )


@inventory_group.command("show")
@click.argument("bin_id")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show only the newest N images.")
@json_option
@click.pass_context
def show(ctx: click.Context, bin_id: str, limit: int | None, as_json: bool) -> None:
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
    expected = (state or {}).get(BinStateAttr.EXPECTED_QUANTITY)
    source = (state or {}).get(BinStateAttr.EXPECTED_SOURCE)
    by = f" (set by a {source} at {(state or {}).get(BinStateAttr.EXPECTED_UPDATED_AT)})" if source else ""
    click.echo(f"Bin {bin_id}: expected quantity {'-' if expected is None else expected}{by}")
    print_table(f"{len(history)} images", HISTORY_COLUMNS, history, empty="No images counted yet.")


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
