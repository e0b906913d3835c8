"""The training stack's job under SageMaker's real training toolkit (sagemaker-training with the PyTorch
DLC's module): its request and source archive on a small ABID slice, through train.py to a servable model."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from countnet.checkpoints import CHECKPOINT_FILE
from dlc_versions import dlc_pins, imported_versions
from training_testkit import ToolkitRun, checkpoint_dir, lay_out_job, run_toolkit, training_job_request

from binventory.local.model_server import load_inference_module

# The run's own hyperparameters, passed as a user passes them (the execution input); only what must change
# for a run of seconds on 2 cores. Everything else is the request as the state machine builds it.
TINY_RUN = {
    "epochs": "1",  # one epoch prints a METRICS line and writes a checkpoint: all this checks needs
    "image-size": "64",  # the recipe's 160 px costs 6x the compute
    "workers": "0",  # loader processes cost more than they save on 30 photos
}
RUN_SECONDS = 600  # about 25 s on 2 cores with one busy; far more when both are


def _run_job(
    hyperparameters: dict[str, str], dataset_bucket: Path, work_dir: Path
) -> tuple[dict[str, Any], ToolkitRun]:
    request, source_archive = training_job_request(hyperparameters)
    base_dir = work_dir / "opt-ml"
    lay_out_job(request, base_dir, dataset_bucket=dataset_bucket, source_archive=source_archive)
    return request, run_toolkit(base_dir, work_dir, timeout_seconds=RUN_SECONDS)


@pytest.fixture(scope="module")
def trained_job(
    training_toolkit: Path, abid_dataset_bucket: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], ToolkitRun]:
    return _run_job(TINY_RUN, abid_dataset_bucket, tmp_path_factory.mktemp("toolkit-job"))


@pytest.mark.slow
def test_the_job_succeeds_and_leaves_a_servable_model(
    trained_job: tuple[dict[str, Any], ToolkitRun], abid_dataset_bucket: Path
) -> None:
    _, run = trained_job

    assert run.returncode == 0, run.log[-6000:]
    assert (run.output_dir / "success").is_file()
    assert not (run.output_dir / "failure").exists()
    # the request's hyperparameters reached train.py through the toolkit's command line
    config = json.loads((run.model_dir / "model_config.json").read_text())
    trained_with = config["training"]["hyperparameters"]
    assert (trained_with["epochs"], trained_with["image_size"]) == (1, 64)
    assert config["training"]["images"] == {"train": 30, "validation": 10}
    # and the model in /opt/ml/model (what SageMaker packs into model.tar.gz) counts a real photo
    assert (run.model_dir / "code" / "inference.py").is_file()
    inference = load_inference_module(run.model_dir)
    model = inference.model_fn(str(run.model_dir))
    photo = sorted((abid_dataset_bucket / "validation" / "images").iterdir())[0]
    request_body = inference.input_fn(photo.read_bytes(), "image/jpeg")
    answer = json.loads(inference.output_fn(inference.predict_fn(request_body, model), "application/json")[0])
    assert answer["predicted_label"] in {str(count) for count in range(6)}


@pytest.mark.slow
def test_the_job_reports_into_the_output_data_and_checkpoints_where_sagemaker_syncs(
    trained_job: tuple[dict[str, Any], ToolkitRun],
) -> None:
    request, run = trained_job

    # /opt/ml/output/data becomes the job's output.tar.gz
    assert json.loads((run.output_dir / "data" / "evaluation.json").read_text())["split"] == "validation"
    # the folder that CheckpointConfig syncs to S3 holds the state a replacement spot job resumes from
    checkpoints = checkpoint_dir(request, run.base_dir)
    assert checkpoints is not None, "the training job has no CheckpointConfig"
    assert (checkpoints / CHECKPOINT_FILE).is_file()


@pytest.mark.slow
def test_every_metric_definition_of_the_job_finds_its_value_in_the_log(
    trained_job: tuple[dict[str, Any], ToolkitRun],
) -> None:
    request, run = trained_job
    definitions = request["AlgorithmSpecification"]["MetricDefinitions"]

    found = {
        definition["Name"]: [float(m.group(1)) for m in re.finditer(definition["Regex"], run.log)]
        for definition in definitions
    }

    assert definitions and all(found.values()), f"no value for {[n for n, v in found.items() if not v]}"
    assert 0.0 <= found["validation:accuracy"][-1] <= 1.0


def _without_training_images(bucket: Path, work_dir: Path) -> Path:
    """The bucket with train/labels.csv but none of its photos (an upload that stopped part way)."""
    copy = work_dir / "bucket"
    shutil.copytree(bucket, copy)
    shutil.rmtree(copy / "train" / "images")
    return copy


@pytest.mark.slow
@pytest.mark.parametrize(
    ("hyperparameters", "break_bucket", "expected"),
    [
        pytest.param(
            {**TINY_RUN, "loss": "hinge"},
            None,
            "ValueError: TrainingInputError: argument --loss: invalid choice: 'hinge'",
            id="a-hyperparameter-train.py-rejects",
        ),
        pytest.param(
            TINY_RUN,
            _without_training_images,
            "ValueError: DatasetLayoutError: ",
            id="a-training-channel-without-its-photos",
        ),
    ],
)
def test_a_bad_input_fails_the_job_with_train_py_s_message(
    training_toolkit: Path,
    abid_dataset_bucket: Path,
    tmp_path: Path,
    hyperparameters: dict[str, str],
    break_bucket: Callable[[Path, Path], Path] | None,
    expected: str,
) -> None:
    # given a job with a bad input
    bucket = break_bucket(abid_dataset_bucket, tmp_path) if break_bucket else abid_dataset_bucket

    # when it runs
    _, run = _run_job(hyperparameters, bucket, tmp_path)

    # then it fails, and its failure reason (DescribeTrainingJob's FailureReason: the first 1024 characters
    # of /opt/ml/output/failure) carries the line train.py printed, not an empty ErrorMessage
    assert run.returncode != 0
    assert not (run.output_dir / "success").exists()
    failure = (run.output_dir / "failure").read_text()
    error_message = re.search(r'ErrorMessage "(.*?)"\s*Command', failure[:1024], re.S)
    assert error_message, failure
    assert error_message.group(1).startswith(expected), failure


def test_train_py_runs_under_the_training_dlc_s_own_torch_torchvision_numpy_and_pillow(
    training_toolkit: Path,
) -> None:
    # the toolkit's interpreter, as it runs train.py, the ONNX export and the packaged model's check
    assert imported_versions(training_toolkit.parent / "python") == dlc_pins()  # the `train` beside it
    assert dlc_pins()["torch"] == "2.6.0", "cdk.json training.framework_version pins the 2.6 DLC"
