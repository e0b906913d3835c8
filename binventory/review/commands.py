"""The `binventory review` command group: the same queue, resolutions and figures as the review page.

The commands drive the review Lambda's own service (`lambdas.review.api`) with the operator's credentials,
so a resolution from a script takes the same conditional write, sets the same expectation and publishes the
same `ReviewResolved` event as one from the page.
"""

from __future__ import annotations

import getpass
from typing import Any

import click

from binventory.aws_errors import AwsCommandGroup
from binventory.inventory.commands import json_option, wide_option
from binventory.inventory.output import Column, echo_json, print_table
from binventory.resources import StackResources
from contracts import stack_outputs
from contracts.inventory_schema import MAX_REVIEW_NOTE_CHARS, MAX_REVIEWED_COUNT, RecordAttr, ReviewOutcome
from contracts.verdict import why
from lambdas.review.api import (
    AlreadyResolved,
    InvalidResolution,
    NotAFlag,
    RecordNotFound,
    ReviewConfiguration,
    ReviewService,
    parse_resolution,
)

QUEUE_COLUMNS = (
    Column("P(wrong)", "priority"),
    Column("bin", RecordAttr.BIN_ID),
    Column("status", RecordAttr.STATUS),
    Column("expected", RecordAttr.EXPECTED_QUANTITY),
    Column("count", RecordAttr.PREDICTED_COUNT),
    Column("confidence", RecordAttr.CONFIDENCE, wide=True),
    Column("older flags", "older_pending", wide=True),
    Column("captured (UTC)", RecordAttr.CAPTURED_AT, wide=True),
    Column("why", why, wrap=True),
)
STATS_COLUMNS = (
    Column("week", "week"),
    Column("raised", "flags_raised"),
    Column("resolved", "flags_resolved"),
    Column("real errors", "real_errors", wide=True),
    Column("judged", "judged", wide=True),
    Column("precision", "precision"),
    Column("unreadable", "unreadable", wide=True),
    Column("median h", "median_hours_to_resolve"),
    Column("p90 h", "p90_hours_to_resolve", wide=True),
    Column("model right", "model_correct", wide=True),
    Column("of reviewed", "reviewed_with_count", wide=True),
    Column("accuracy", "model_accuracy"),
)


def review_service(ctx: click.Context) -> ReviewService:
    """The review service over the stage chosen on the command line (stack outputs or BINVENTORY_*)."""
    resources = ctx.find_object(StackResources) or StackResources()
    configuration = ReviewConfiguration(
        inventory_table=resources.inventory_table,
        bin_state_table=resources.bin_state_table,
        ingest_bucket=resources.output("storage", stack_outputs.INGEST_BUCKET_NAME),
        event_bus_name=resources.output("counting", stack_outputs.EVENT_BUS_NAME),
    )
    return ReviewService.from_configuration(configuration, resources.session())


@click.group("review", cls=AwsCommandGroup)
def review_group() -> None:
    """Resolve flagged bins: CONFIRMED, CORRECTED to a count, or UNREADABLE."""


@review_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show only the first N bins.")
@wide_option
@json_option
@click.pass_context
def list_command(ctx: click.Context, limit: int | None, wide: bool, as_json: bool) -> None:
    """The review queue: one task per flagged bin, most likely errors first.

    Each bin shows its latest pending flag; "older flags" counts the bin's earlier flags still waiting,
    which come up once the newer one is resolved. With --json each entry carries a presigned photo URL
    that expires in minutes.
    """
    view = review_service(ctx).queue_view(limit)
    if as_json:
        echo_json(view)
        return
    progress = view["progress"]
    click.echo(f"{progress['resolved_today']} of {progress['total_today']} today")
    print_table(
        f"{view['bins']} bins, {view['pending_flags']} flags pending",
        QUEUE_COLUMNS,
        view["entries"],
        empty="No flagged bins are waiting.",
        wide=wide,
    )


@review_group.command("show")
@click.argument("bin_id")
@json_option
@click.pass_context
def show_command(ctx: click.Context, bin_id: str, as_json: bool) -> None:
    """A bin's pending flag: the record, its photo's URL (expires in minutes), the bin's expectation."""
    found = review_service(ctx).bin_view(bin_id)
    if found is None:
        raise click.ClickException(
            f"Bin {bin_id!r} has no pending flag: list the queue with `binventory review list`, or see its "
            f"history with `binventory inventory show {bin_id}`."
        )
    if as_json:
        echo_json(found)
        return
    entry = found["entry"]
    print_table(f"Bin {bin_id}", QUEUE_COLUMNS, [entry], empty="", wide=True)
    click.echo(f"record: {entry[RecordAttr.RECORD_KEY]}")
    click.echo(f"photo: {entry['photo_url'] or '(outside the ingest bucket)'}")


@review_group.command("resolve")
@click.argument("bin_id")
@click.option(
    "--confirm", "outcome", flag_value=ReviewOutcome.CONFIRMED.value, help="The expected quantity was right."
)
@click.option(
    "--count",
    type=click.IntRange(0, MAX_REVIEWED_COUNT),
    default=None,
    help="The bin really holds this many items (CORRECTED; sets the bin's expected quantity).",
)
@click.option(
    "--unreadable", "outcome", flag_value=ReviewOutcome.UNREADABLE.value, help="The photo cannot be judged."
)
@click.option(
    "--record", "record_key", default=None, help="Which flag (default: the bin's latest pending one)."
)
@click.option(
    "--note", default=None, help=f"Optional plain text, at most {MAX_REVIEW_NOTE_CHARS} characters."
)
@click.option("--reviewer", default=None, help="Who resolved it (default: cli:<your user name>).")
@json_option
@click.pass_context
def resolve_command(
    ctx: click.Context,
    bin_id: str,
    outcome: str | None,
    count: int | None,
    record_key: str | None,
    note: str | None,
    reviewer: str | None,
    as_json: bool,
) -> None:
    """Resolve BIN_ID's flag: --confirm, --count N or --unreadable (exactly one)."""
    if (outcome is not None) + (count is not None) != 1:
        raise click.UsageError("say what you found: exactly one of --confirm, --count N, --unreadable")
    service = review_service(ctx)
    if record_key is None:
        found = service.bin_view(bin_id)
        if found is None:
            raise click.ClickException(f"Bin {bin_id!r} has no pending flag to resolve.")
        record_key = str(found["entry"][RecordAttr.RECORD_KEY])
    body: dict[str, Any] = {
        "bin_id": bin_id,
        "record_key": record_key,
        "outcome": ReviewOutcome.CORRECTED.value if count is not None else outcome,
        "count": count,
        "note": note,
    }
    try:
        resolution = parse_resolution({k: v for k, v in body.items() if v is not None})
        reviewed = service.resolve(resolution, reviewer=reviewer or f"cli:{getpass.getuser()}")
    except (InvalidResolution, AlreadyResolved, NotAFlag) as error:
        raise click.ClickException(f"Bin {bin_id}: {error}") from error
    except RecordNotFound as error:
        raise click.ClickException(
            f"{error.args[0]}: list pending flags with `binventory review list`"
        ) from error
    record = reviewed.record
    if as_json:
        echo_json({"record": record, "expected_quantity_set": reviewed.expected_quantity_set})
        return
    found_text = record[RecordAttr.REVIEW_OUTCOME] + (
        f" ({record[RecordAttr.REVIEWED_COUNT]})" if RecordAttr.REVIEWED_COUNT in record else ""
    )
    click.echo(
        f"Bin {bin_id}: {found_text} by {record[RecordAttr.REVIEWER]} at {record[RecordAttr.REVIEWED_AT]}."
    )
    if reviewed.expected_quantity_set:
        click.echo(f"Its expected quantity is now {record[RecordAttr.REVIEWED_COUNT]} (source: review).")


@review_group.command("stats")
@click.option(
    "--weeks", type=click.IntRange(1, 52), default=8, show_default=True, help="ISO weeks, this one included."
)
@wide_option
@json_option
@click.pass_context
def stats_command(ctx: click.Context, weeks: int, wide: bool, as_json: bool) -> None:
    """Per ISO week: flags raised and resolved, the precision of flags, time to resolve, the model's accuracy.

    A real error is a correction to another count than expected. Precision = real errors / judged flags
    (CONFIRMED or CORRECTED with an expected quantity); UNREADABLE flags are left out of it and counted
    apart. Times are hours from the photo's capture to its resolution (median, 90th percentile). The
    model's accuracy compares its count with the reviewed count of CONFIRMED and CORRECTED photos.
    """
    figures = [week.as_dict() for week in review_service(ctx).stats(weeks)]
    if as_json:
        echo_json({"weeks": figures})
        return
    rows = [{k: _shown(v) for k, v in week.items()} for week in figures]
    print_table(f"Reviews, last {weeks} weeks", STATS_COLUMNS, rows, empty="No weeks.", wide=wide)


def _shown(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, float) else value
