"""A small slice of the real ABID sample (../shared/abid) through train.py and the serving handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_testkit import run_train, write_abid_slice

from binventory.local.model_server import load_inference_module

IMAGES_PER_COUNT = 16


@pytest.mark.slow
def test_a_slice_of_real_abid_trains_and_serves(abid_dir: Path, tmp_path: Path) -> None:
    # given 80 real bin photos, 16 of each count 1..5
    data = write_abid_slice(abid_dir, tmp_path / "slice", IMAGES_PER_COUNT)
    model_dir = tmp_path / "model"
    # when train.py runs on them, splitting them itself
    code, printed = run_train(
        [
            "--train",
            str(data),
            "--model-dir",
            str(model_dir),
            "--image-size",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--workers",
            "0",
            "--val-fraction",
            "0.25",
            "--test-fraction",
            "0.25",
        ]
    )
    assert code == 0, printed
    evaluation = json.loads((model_dir / "evaluation.json").read_text())
    counting = evaluation["counting"]["all"]
    assert evaluation["split"] == "validation" and counting["samples"] == 20
    assert 0.0 <= counting["accuracy"] <= 1.0 and counting["rmse"] > 0
    # the test part is held out and, unasked, neither scored nor printed
    assert set(evaluation["splits"]) == {"validation"}
    assert "test 0 to 5" not in printed and "validation 0 to 5" in printed
    inference = load_inference_module(model_dir)
    model = inference.model_fn(str(model_dir))
    image_id = next(iter(sorted(p.stem for p in (abid_dir / "images").glob("0*.jpg"))))
    body = (abid_dir / "images" / f"{image_id}.jpg").read_bytes()
    answer = json.loads(
        inference.output_fn(inference.predict_fn(inference.input_fn(body, "image/jpeg"), model), "*/*")[0]
    )
    assert answer["predicted_label"] in {"0", "1", "2", "3", "4", "5"}
