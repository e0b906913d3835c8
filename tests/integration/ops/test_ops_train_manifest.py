"""`binventory train start --manifest` and `train plan`: what a manifest run sends, and what it would cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from contracts import stack_outputs

DATASET_BUCKET = "binventory-dev-dataset"
DISTRIBUTION = {
    "train": {"0": 800, "1": 3500, "2": 6500, "3": 7700, "4": 6800, "5": 5300, ">5": 900},
    "validation": {"0": 40, "1": 180, "2": 340, "3": 400, "4": 360, "5": 280, ">5": 45},
    "test": {"0": 90, "1": 400, "2": 760, "3": 890, "4": 800, "5": 630},
}
SUMMARY = {"name": "challenge", "images": {}, "distribution": DISTRIBUTION}


@pytest.fixture
def state_machine(state_machine: str, set_stack_outputs: Any) -> str:
    """The training state machine, with the challenge manifest's summary in the dataset bucket."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=DATASET_BUCKET)
    set_stack_outputs(**{stack_outputs.DATASET_BUCKET_NAME: DATASET_BUCKET})
    s3.put_object(Bucket=DATASET_BUCKET, Key="manifests/challenge/summary.json", Body=json.dumps(SUMMARY))
    return state_machine


def started(state_machine: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=state_machine)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


def test_train_start_with_a_manifest_names_it_and_its_input_mode_and_prints_the_plan(
    state_machine: str, invoke: Any
) -> None:
    result = invoke("train", "start", "--manifest", "challenge", "--name", "train-m", "--hp", "epochs=2")

    assert result.exit_code == 0, result.output
    (sent,) = started(state_machine)
    assert sent["manifest"] == {"name": "challenge", "input_mode": "FastFile"}
    assert sent["hyperparameters"]["epochs"] == "2"
    assert "plan: challenge on ml.g5" in result.output
    assert "2 epochs" in result.output and "31,500 training" in result.output


def test_train_start_without_a_manifest_sends_none(state_machine: str, invoke: Any) -> None:
    result = invoke("train", "start", "--name", "train-p")

    assert result.exit_code == 0, result.output
    (sent,) = started(state_machine)
    assert "manifest" not in sent
    assert "plan:" not in result.output


def test_train_start_refuses_a_manifest_the_dataset_bucket_lacks(state_machine: str, invoke: Any) -> None:
    result = invoke("train", "start", "--manifest", "metadata")

    assert result.exit_code == 1
    assert "No manifest dataset 'metadata'" in result.output
    assert "binventory data manifest" in result.output
    assert started(state_machine) == []


def test_train_start_refuses_a_manifest_run_outside_the_public_bucket_s_region(
    state_machine: str, invoke: Any, set_stack_outputs: Any
) -> None:
    set_stack_outputs(
        **{
            stack_outputs.TRAINING_STATE_MACHINE_ARN: (
                "arn:aws:states:eu-west-1:123456789012:stateMachine:training"
            )
        }
    )

    result = invoke("train", "start", "--manifest", "challenge")

    assert result.exit_code == 1
    assert "eu-west-1" in result.output and "reads S3 only in its own region" in result.output


def test_train_start_dry_run_prints_the_input_and_starts_nothing(state_machine: str, invoke: Any) -> None:
    result = invoke("train", "start", "--manifest", "challenge", "--input-mode", "File", "--dry-run")

    assert result.exit_code == 0, result.output
    assert '"input_mode": "File"' in result.output
    assert "plan: challenge" in result.output
    assert started(state_machine) == []


def test_train_plan_reads_a_local_manifest_folder_without_aws(tmp_path: Path, invoke: Any) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(SUMMARY))

    result = invoke(
        "train", "plan", "--manifest", str(tmp_path), "--instance-type", "ml.g5.2xlarge", "--on-demand",
        "--hp", "epochs=3",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())
    assert "challenge on ml.g5.2xlarge (on-demand, FastFile), 3 epochs" in line
    # the recipe judges every count, so every image trains
    assert "31,500 training + 1,645 validation + 3,570 test images" in line and "left out" not in line
    assert "on-demand $" in line and "spot would be $" in line
    # and a recipe that leaves bins above 5 out says how many it leaves
    result = invoke(
        "train", "plan", "--manifest", str(tmp_path), "--instance-type", "ml.g5.2xlarge", "--on-demand",
        "--hp", "epochs=3", "--hp", "max-count=5", "--hp", "over-max=exclude",
    )  # fmt: skip
    line = " ".join(result.output.split())
    assert "30,600 training + 1,600 validation + 3,570 test images (945 above 5 items left out)" in line


def test_train_plan_names_the_instances_it_has_figures_for(tmp_path: Path, invoke: Any) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(SUMMARY))

    result = invoke("train", "plan", "--manifest", str(tmp_path), "--instance-type", "ml.p3.2xlarge")

    assert result.exit_code == 1
    assert "No throughput figure for ml.p3.2xlarge" in result.output and "ml.g5.2xlarge" in result.output


def test_train_start_tune_with_a_manifest_says_the_plan_is_per_trial(state_machine: str, invoke: Any) -> None:
    result = invoke("train", "start", "--manifest", "challenge", "--tune", "--max-jobs", "4", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "tuning runs up to 4 such jobs" in result.output


def test_train_start_adds_the_reviews_train_part_to_a_manifest_run(state_machine: str, invoke: Any) -> None:
    # given the challenge dataset's files and a reviews dataset beside it
    s3 = boto3.client("s3")
    reviews = {"name": "reviews", "images": {"train": 7}, "distribution": {"train": {"2": 3, "3": 4}}}
    s3.put_object(Bucket=DATASET_BUCKET, Key="manifests/reviews/summary.json", Body=json.dumps(reviews))
    for dataset in ("challenge", "reviews"):
        for channel in ("train", "validation", "test"):
            s3.put_object(Bucket=DATASET_BUCKET, Key=f"manifests/{dataset}/{channel}.manifest", Body=dataset)
            s3.put_object(
                Bucket=DATASET_BUCKET, Key=f"manifests/{dataset}/labels/{channel}.csv", Body=dataset
            )

    # when a run adds the reviews to the challenge split
    result = invoke("train", "start", "--manifest", "challenge", "--add-manifest", "reviews", "--name", "t-r")

    # then it trains on the combined dataset, whose extra channel is the reviews' train part
    assert result.exit_code == 0, result.output
    (sent,) = started(state_machine)
    assert sent["manifest"] == {
        "name": "challenge-with-reviews",
        "input_mode": "FastFile",
        "added_train": True,
    }
    combined = "manifests/challenge-with-reviews/"

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=DATASET_BUCKET, Key=combined + key)["Body"].read()

    assert read("train_added.manifest") == b"reviews" and read("labels/train_added.csv") == b"reviews"
    assert read("validation.manifest") == b"challenge" and read("labels/test.csv") == b"challenge"
    summary = json.loads(read("summary.json"))
    assert summary["distribution"]["train"]["3"] == DISTRIBUTION["train"]["3"] + 4
    assert summary["distribution"]["validation"] == DISTRIBUTION["validation"]
    assert "31,507 training" in result.output
