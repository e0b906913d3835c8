"""`binventory review ...` against a stage in moto: the queue, resolutions and their refusals, the figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from review_world import BIN_STATE_TABLE, BUCKET, EVENT_BUS, INVENTORY_TABLE, ReviewWorld, recent

from binventory.cli import cli
from binventory.data.reviews import part_for_bin
from binventory.resources import env_var_for
from contracts import stack_outputs
from contracts.manifest_layout import IMAGE_CHANNELS


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


def test_data_reviews_writes_the_reviewed_photos_as_a_manifest_dataset_split_by_bin(
    world: ReviewWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a dataset bucket, and resolved flags of bins that fall in each part of the split
    monkeypatch.setenv(env_var_for(stack_outputs.DATASET_BUCKET_NAME), "review-test-dataset")
    world.session.client("s3").create_bucket(Bucket="review-test-dataset")
    bins = {
        part: [f"B-{n}" for n in range(60) if part_for_bin(f"B-{n}") == part][:2] for part in IMAGE_CHANNELS
    }
    for number, bin_id in enumerate(sorted(b for chosen in bins.values() for b in chosen)):
        world.counted(bin_id, captured_at=recent(90), count=5, expected=2)
        world.counted(bin_id, captured_at=recent(60), count=4, expected=2)  # a second photo of the bin
        # the bin's newer flag first, then its older one; one older photo of a train bin is unreadable
        assert binventory("review", "resolve", bin_id, "--count", str(number % 6)).exit_code == 0
        older = ("--unreadable",) if bin_id == bins["train"][0] else ("--count", str(number % 6))
        assert binventory("review", "resolve", bin_id, *older).exit_code == 0

    # when the reviewed photos are written out
    result = binventory("data", "reviews", "--out", str(tmp_path / "reviews"))

    # then each labelled photo is in the part of its bin, the unreadable one is left out
    assert result.exit_code == 0, result.output
    assert "11 reviewed photos" in result.output and "left out: 1 unreadable" in result.output
    s3 = world.session.client("s3")
    folder = "manifests/reviews/"
    summary = json.loads(
        s3.get_object(Bucket="review-test-dataset", Key=folder + "summary.json")["Body"].read()
    )
    assert summary["prefix"] == f"s3://review-test-dataset/{folder}images/"
    for part, chosen in bins.items():
        labels = s3.get_object(Bucket="review-test-dataset", Key=f"{folder}labels/{part}.csv")["Body"].read()
        ids = [line.split(",")[0] for line in labels.decode().splitlines()[1:]]
        assert ids and {image_id.rsplit("-", 1)[0] for image_id in ids} == set(chosen)
        manifest = json.loads(
            s3.get_object(Bucket="review-test-dataset", Key=f"{folder}{part}.manifest")["Body"].read()
        )
        assert manifest[0] == {"prefix": summary["prefix"]} and sorted(manifest[1:]) == sorted(
            f"{i}.jpg" for i in ids
        )
    copied = s3.list_objects_v2(Bucket="review-test-dataset", Prefix=folder + "images/")["KeyCount"]
    assert copied == 11 and (tmp_path / "reviews" / "labels.csv").read_text().count("\n") == 12
