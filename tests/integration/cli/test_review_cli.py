"""`binventory review ...` against a stage in moto: the queue, resolutions and their refusals, the figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from review_world import BIN_STATE_TABLE, BUCKET, EVENT_BUS, INVENTORY_TABLE, ReviewWorld, recent

from binventory.cli import cli
from binventory.resources import env_var_for
from contracts import stack_outputs


@pytest.fixture
def world(fake_aws_credentials: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReviewWorld]:
    """The stage's names as the local pipeline exports them (BINVENTORY_*), in moto."""
    monkeypatch.setenv("COLUMNS", "220")
    for output_id, name in (
        (stack_outputs.INVENTORY_TABLE_NAME, INVENTORY_TABLE),
        (stack_outputs.BIN_STATE_TABLE_NAME, BIN_STATE_TABLE),
        (stack_outputs.INGEST_BUCKET_NAME, BUCKET),
        (stack_outputs.EVENT_BUS_NAME, EVENT_BUS),
    ):
        monkeypatch.setenv(env_var_for(output_id), name)
    with mock_aws():
        yield ReviewWorld()


def binventory(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_shows_the_queue_most_likely_errors_first(world: ReviewWorld) -> None:
    # given two flagged bins and one that matches
    world.counted("B-unsure", captured_at=recent(20), count=3, expected=4, confidence=0.45)
    world.counted("B-sure", captured_at=recent(10), count=5, expected=2)
    world.counted("B-ok", captured_at=recent(5), count=3, expected=3)

    # when the operator lists the queue, for a person and for a script
    shown = binventory("review", "list")
    listed = as_json(binventory("review", "list", "--json"))

    # then the surer error comes first, and the matching bin is not there
    assert shown.exit_code == 0 and "0 of 2 today" in shown.output
    assert shown.output.index("B-sure") < shown.output.index("B-unsure") and "B-ok" not in shown.output
    assert [e["bin_id"] for e in listed["entries"]] == ["B-sure", "B-unsure"]
    assert "X-Amz-Expires=300" in listed["entries"][0]["photo_url"]


def test_resolve_corrects_a_bin_and_a_second_resolution_is_told_who_and_when(world: ReviewWorld) -> None:
    # given a flagged bin
    record = world.counted("B-1", captured_at=recent(30), count=5, expected=2)

    # when an operator corrects it to 5, then someone confirms it
    corrected = binventory("review", "resolve", "B-1", "--count", "5", "--note", "ok", "--reviewer", "dana")
    again = binventory("review", "resolve", "B-1", "--record", record["record_key"], "--confirm")

    # then the bin expects 5 from now on, and the second answer names the first resolution
    assert corrected.exit_code == 0, corrected.output
    assert "B-1: CORRECTED (5) by dana" in corrected.output
    assert "expected quantity is now 5" in corrected.output
    assert world.bin_state("B-1")["expected_quantity"] == 5
    assert again.exit_code == 1 and "already resolved as CORRECTED by dana at" in again.output
    # and `inventory show` reflects it
    shown = as_json(binventory("inventory", "show", "B-1", "--json"))
    assert shown["state"]["expected_source"] == "review"
    assert shown["history"][0]["review_outcome"] == "CORRECTED"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--confirm", "--count", "3"), "exactly one of --confirm, --count N, --unreadable"),
        (("--count", "-1"), "-1 is not in the range 0<=x<=999"),
        (("--unreadable", "--note", "x" * 501), "note is 501 characters long"),
    ],
)
def test_resolve_refuses_what_a_review_cannot_say(
    world: ReviewWorld, arguments: tuple[str, ...], message: str
) -> None:
    world.counted("B-1", captured_at=recent(30), count=5, expected=2)

    result = binventory("review", "resolve", "B-1", *arguments)

    assert result.exit_code != 0 and message in result.output
    assert as_json(binventory("review", "list", "--json"))["pending_flags"] == 1


def test_stats_print_the_precision_of_flags(world: ReviewWorld) -> None:
    # given three flags: a real error corrected, a right expectation confirmed, one unreadable
    for bin_id in ("B-1", "B-2", "B-3"):
        world.counted(bin_id, captured_at=recent(60), count=5, expected=2)
    for bin_id, how in (("B-1", ("--count", "5")), ("B-2", ("--confirm",)), ("B-3", ("--unreadable",))):
        assert binventory("review", "resolve", bin_id, *how).exit_code == 0

    # when the figures are asked for
    table = binventory("review", "stats", "--weeks", "2")
    (last_week, this_week) = as_json(binventory("review", "stats", "--weeks", "2", "--json"))["weeks"]

    # then this week: 3 raised (an hour ago: last week, just after midnight on a Monday) and resolved,
    # 1 real error of 2 judged (the unreadable one left out)
    assert table.exit_code == 0 and "precision" in table.output and "0.50" in table.output
    assert last_week["flags_raised"] + this_week["flags_raised"] == 3
    assert (this_week["flags_resolved"], this_week["unreadable"]) == (3, 1)
    assert (this_week["real_errors"], this_week["judged"], this_week["precision"]) == (1, 2, 0.5)
