"""Corrections teach the model: flags resolved with the CLI become labelled photos (`data reviews`), which
`local train --add-data` trains on, end to end on the local pipeline."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from countnet.synthetic import write_synthetic_dataset
from model_testkit import run_train

from binventory.cli import cli
from binventory.local.pipeline import LocalPipeline, Upload
from binventory.local.recipe_training import plan_recipe_run
from contracts.inventory_schema import FLAGGED_STATUSES
from contracts.recipe import load_recipe


def binventory(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_reviewed_photos_train_the_next_model(pipeline: LocalPipeline, tmp_path: Path) -> None:
    # given bins counted with wrong expectations (the model flags them), each photo's true count known
    photos = write_synthetic_dataset(tmp_path / "warehouse", per_class=1, max_count=5, seed=77)
    truth = dict(row.values() for row in csv.DictReader((photos / "labels.csv").open()))
    pipeline.upload(
        Upload(
            key=f"incoming/bin-{image_id}/photo.jpg",
            body=(photos / "bin-images" / f"{image_id}.jpg").read_bytes(),
            metadata={"expected-quantity": str((int(count) + 3) % 6)},
        )
        for image_id, count in truth.items()
    )
    pipeline.process(timeout_seconds=300)
    flagged = sorted(r["bin_id"] for r in pipeline.records() if r["status"] in FLAGGED_STATUSES)
    assert len(flagged) >= 3

    # when a reviewer corrects every flag to the true count but one, which is unreadable
    unreadable, *corrected = flagged
    binventory("review", "resolve", unreadable, "--unreadable")
    for bin_id in corrected:
        binventory("review", "resolve", bin_id, "--count", truth[bin_id.removeprefix("bin-")])
    # and writes the reviewed photos out, then trains with them
    reviews = tmp_path / "reviews"
    summary = binventory("data", "reviews", "--out", str(reviews), "--local-only")
    demo = {name: str(value) for name, value in load_recipe().demo_overrides.items()}
    other_bins = write_synthetic_dataset(tmp_path / "other-bins", per_class=5, max_count=5, seed=78)
    run = plan_recipe_run(tmp_path / "model", demo, data=[other_bins], add_data=[reviews])
    code, printed = run_train(run.command[2:])

    # then the folder holds each corrected photo with the count the reviewer gave, the unreadable one left out
    with (reviews / "labels.csv").open() as handle:
        labels = sorted(int(row["expected_quantity"]) for row in csv.DictReader(handle))
    assert labels == sorted(int(truth[b.removeprefix("bin-")]) for b in corrected)
    assert len(list((reviews / "images").glob("*.jpg"))) == len(corrected)
    assert f"{len(corrected)} reviewed photos" in summary and "left out: 1 unreadable" in summary
    # and training read them as training data and wrote a model that serves
    assert code == 0, printed[-3000:]
    read = sum(int(n) for n in re.findall(r"^(?:train|validation|test): (\d+) images", printed, re.M))
    assert read == 6 * 5 + len(corrected), printed[-3000:]  # the other bins' 30 photos and the reviewed ones
    assert (tmp_path / "model" / "code" / "inference.py").is_file()
