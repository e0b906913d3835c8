"""The operator CLI's manifest rules that need no AWS: the manifest file format, the ABID challenge's split
files, and the training plan's arithmetic."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from binventory import costs
from binventory.data.challenge_split import ChallengeSplitError, read_challenge_labels, read_challenge_split
from binventory.data.manifests import manifest_text
from binventory.training_jobs import throughput
from binventory.training_jobs.plan import ManifestSummary, PlanRequest, make_plan
from contracts.abid_labels import challenge_image_id

PREFIX_LINE = '[{"prefix": "s3://aft-vbi-pds/bin-images/"},'
DISTRIBUTION = {
    "train": {"0": 800, "1": 3500, "2": 6500, "3": 7700, "4": 6800, "5": 5300, ">5": 900},
    "validation": {"0": 40, "1": 180, "2": 340, "3": 400, "4": 360, "5": 280, ">5": 45},
    "test": {"0": 90, "1": 400, "2": 760, "3": 890, "4": 800, "5": 630},
}
SUMMARY = {"name": "challenge", "images": {}, "distribution": DISTRIBUTION}


def test_a_manifest_is_the_sagemaker_manifest_file_format() -> None:
    text = manifest_text(["00001", "01013", "1013", "535232"])

    assert text.splitlines()[0] == PREFIX_LINE
    assert json.loads(text) == [
        {"prefix": "s3://aft-vbi-pds/bin-images/"},
        "00001.jpg",
        "01013.jpg",
        "1013.jpg",
        "535232.jpg",
    ]


@pytest.mark.parametrize(
    ("index", "image_id"),
    [(0, "00001"), (1012, "01013"), (99998, "99999"), (99999, "100000"), (535231, "535232")],
)
def test_challenge_index_i_is_image_i_plus_one_padded_to_five_digits(index: int, image_id: str) -> None:
    assert challenge_image_id(index) == image_id


def test_challenge_labels_keep_string_ids_and_never_name_the_unpadded_photos(tmp_path: Path) -> None:
    # given pairs whose images are 01013 and 00001 (1013 is a different, unpadded photo of the bucket)
    path = tmp_path / "train.json"
    path.write_text(json.dumps([[1012, 3], [0, 0]]))

    labels = read_challenge_labels(path)

    assert labels == {"01013": 3, "00001": 0}
    assert all(isinstance(image_id, str) for image_id in labels)
    assert "1013" not in labels


@pytest.mark.parametrize(
    ("train", "val", "message"),
    [
        ([[1, 2], [1, 3]], [[5, 1]], "appears with counts 2 and 3"),
        ([[1, "2"]], [[5, 1]], r"expected \[index, count\]"),
        ([[1, 2]], [[1, 2]], "in both the challenge's train and val"),
        ({"1": 2}, [[5, 1]], "list of"),
    ],
)
def test_a_malformed_challenge_split_is_refused_with_what_is_wrong(
    tmp_path: Path, train: Any, val: Any, message: str
) -> None:
    (tmp_path / "abid_challenge_counting_train.json").write_text(json.dumps(train))
    (tmp_path / "abid_challenge_counting_val.json").write_text(json.dumps(val))

    with pytest.raises(ChallengeSplitError, match=message):
        read_challenge_split(tmp_path)


def test_a_plan_adds_one_epoch_s_images_at_the_slower_of_loader_and_gpu_per_epoch() -> None:
    summary = ManifestSummary.from_document(SUMMARY)
    request = PlanRequest("ml.g5.xlarge", 2, 160, False, "FastFile", 5, "exclude")
    two = make_plan(summary, request, max_runtime_seconds=14_400)
    four = make_plan(summary, replace(request, epochs=4), max_runtime_seconds=14_400)

    rates = throughput.throughput("ml.g5.xlarge", 160)
    slow_epoch_hours = (30_600 / rates.training[0] + 1_600 / rates.evaluation[0]) / 3600
    assert four.hours[1] - two.hours[1] == pytest.approx(2 * slow_epoch_hours)
    assert two.on_demand_usd == pytest.approx(
        tuple(h * costs.TRAINING_HOURLY_USD["ml.g5.xlarge"] for h in two.hours)
    )
    assert two.limited_by == "loader"
    bucketed = make_plan(summary, replace(request, over_max="bucket"), max_runtime_seconds=1)
    assert bucketed.images["train"] == 31_500 and bucketed.left_out == 0
    assert any("max_runtime_seconds" in note for note in bucketed.notes)
