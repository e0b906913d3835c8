"""The demo gives the same figures on every run on one machine: training and serving depend on no clock,
load or thread count, and no knife-edge int8 check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from countnet.synthetic import write_synthetic_dataset

from binventory.local.demo import DEMO_TRAIN_PER_CLASS, demo_environment, train_demo_model
from binventory.local.pipeline import LocalPipeline
from binventory.local.report import join_outcomes, summarize
from binventory.local.uploads import plan_from_dataset

pytestmark = pytest.mark.slow


def demo_figures(model_dir: Path, eval_dir: Path, work_dir: Path) -> dict:
    """The figures `make demo` prints, for one model, on the demo's own kind of upload plan."""
    plan = plan_from_dataset(eval_dir, limit=None, plant_error_fraction=0.2, seed=7, include_bad_files=True)
    with LocalPipeline(model_dir, work_dir=work_dir, model_server_environment=demo_environment()) as pipeline:
        pipeline.load_expected(plan.expected_rows)
        pipeline.upload(plan.sidecars)
        pipeline.upload(plan.uploads)
        pipeline.process(timeout_seconds=300)
        summary = summarize(join_outcomes(plan.images, pipeline.records()), len(pipeline.dead_letters()))
    return {
        "by_status": summary.by_status,
        "caught": (summary.planted_errors_flagged, summary.planted_errors),
        "false_alarms": (summary.false_alarms, summary.correct_expectations),
        "right": (summary.correct_vs_truth, summary.with_truth),
    }


def test_the_demo_gives_the_same_figures_twice(tmp_path: Path, synthetic_eval_dir: Path) -> None:
    # given: the demo model trained twice from the same synthetic images, as `make demo` trains it
    train_dir = write_synthetic_dataset(
        tmp_path / "train", per_class=DEMO_TRAIN_PER_CLASS, max_count=5, seed=1
    )
    models = [train_demo_model(train_dir, tmp_path / f"model-{n}", tmp_path / f"output-{n}") for n in (1, 2)]

    # when: each serves the same uploads
    figures = [
        demo_figures(model, synthetic_eval_dir, tmp_path / f"run-{n}") for n, model in enumerate(models)
    ]

    # then: the same weights, the same runtime (fp32), the same figures
    first, second = (torch.load(m / "model.pt", map_location="cpu", weights_only=True) for m in models)
    first, second = (state.get("state_dict", state) for state in (first, second))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    configs = [json.loads((m / "model_config.json").read_text()) for m in models]
    assert [c["runtime"] for c in configs] == ["onnx", "onnx"]
    assert configs[0]["reconciliation"] == configs[1]["reconciliation"]
    assert figures[0] == figures[1]
