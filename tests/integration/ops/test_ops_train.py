"""`binventory train start|status|logs` against moto's Step Functions, SageMaker and CloudWatch Logs."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from sagemaker_resources import create_training_job

from contracts.deployment_settings import load_settings_from_cdk_json
from contracts.recipe import load_recipe

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def execution_input(state_machine: str, name: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = state_machine.replace(":stateMachine:", ":execution:") + f":{name}"
    return json.loads(sfn.describe_execution(executionArn=arn)["input"])


def test_train_start_sends_the_recipe_s_hyperparameters_as_strings_with_overrides(
    state_machine: str, invoke: Any
) -> None:
    # given the shipped recipe: the job gets every value, so the job records what it trained with
    defaults = load_recipe().as_strings()

    # when a run is started with one override
    result = invoke("train", "start", "--hp", "epochs=3", "--hp", "backbone=resnet34", "--name", "train-a")

    # then the state machine gets the contract's input: defaults, overrides, strings, no tuning
    assert result.exit_code == 0, result.output
    sent = execution_input(state_machine, "train-a")
    assert sent["hyperparameters"] == {**defaults, "epochs": "3", "backbone": "resnet34"}
    assert sent["tune"] is False


def test_train_start_tune_sends_ranges_and_budget_and_keeps_tuned_names_out_of_static_values(
    state_machine: str, invoke: Any
) -> None:
    tuning = load_settings_from_cdk_json().tuning

    result = invoke("train", "start", "--tune", "--max-jobs", "4", "--name", "tune-a")

    assert result.exit_code == 0, result.output
    sent = execution_input(state_machine, "tune-a")
    assert sent["tune"] is True
    assert sent["tuning"] == {
        "max_jobs": 4,
        "max_parallel_jobs": min(tuning.max_parallel_jobs, 4),
        "parameter_ranges": tuning.parameter_ranges_api(),
    }
    assert not set(sent["hyperparameters"]) & set(tuning.tuned_names)


def test_train_start_refuses_an_unknown_or_tuned_hyperparameter(state_machine: str, invoke: Any) -> None:
    tuned = load_settings_from_cdk_json().tuning.tuned_names[0]

    unknown = invoke("train", "start", "--hp", "epoch=3")
    clash = invoke("train", "start", "--tune", "--hp", f"{tuned}=0.1")

    assert unknown.exit_code == 2 and "not a train.py hyperparameter" in unknown.output
    assert clash.exit_code == 2 and "is tuned by --tune" in clash.output
    sfn = boto3.client("stepfunctions")
    assert sfn.list_executions(stateMachineArn=state_machine)["executions"] == []


def test_train_status_shows_each_run_with_its_jobs_final_metrics(state_machine: str, invoke: Any) -> None:
    # given a started run whose training job (named after the run) has finished with metrics
    invoke("train", "start", "--name", "train-b")
    job = create_training_job(boto3.client("sagemaker"), "train-b-train", "s3://artifacts/jobs")
    job.final_metric_data_list = [{"MetricName": "validation:accuracy", "Value": 0.5123}]

    result = invoke("train", "status")

    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "train-b" in line)
    assert "RUNNING" in row and "Completed" in row and "0.5123" in row


def test_train_status_shows_the_profiler_rules_verdicts_and_links_the_report(
    state_machine: str, invoke: Any
) -> None:
    # given a run whose job's profiler rules have ruled (what SageMaker reports in DescribeTrainingJob)
    invoke("train", "start", "--name", "train-d")
    job = create_training_job(boto3.client("sagemaker"), "train-d-train", "s3://artifacts/models/")
    job.profiler_config = {"S3OutputPath": "s3://artifacts/models/", "ProfilingIntervalInMilliseconds": 500}
    job.profiler_rule_evaluation_statuses = [
        {"RuleConfigurationName": "ProfilerReport", "RuleEvaluationStatus": "NoIssuesFound"},
        {"RuleConfigurationName": "LowGPUUtilization", "RuleEvaluationStatus": "IssuesFound"},
    ]

    result = invoke("train", "status")

    assert result.exit_code == 0, result.output
    assert "ProfilerReport: NoIssuesFound" in result.output
    assert "LowGPUUtilization: IssuesFound" in result.output
    assert (
        "profiler report of train-d: s3://artifacts/models/train-d-train/rule-output/ProfilerReport/"
        "profiler-output/profiler-report.html" in result.output
    )


def test_train_logs_follows_the_runs_streams_until_the_run_ends(state_machine: str, invoke: Any) -> None:
    # given a run with two log streams of its job, then stopped
    invoke("train", "start", "--name", "train-c")
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    for stream, message in (
        ("train-c-train/algo-1-1", "METRICS epoch=1 val_accuracy=0.4000"),
        ("train-c-train/algo-2-1", "worker 2 ready"),
        ("train-c2-train/algo-1-1", "another run's line"),
    ):
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
        )
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=state_machine.replace(":stateMachine:", ":execution:") + ":train-c")

    result = invoke("train", "logs", "train-c", "--follow", "--poll-seconds", "1")

    assert result.exit_code == 0, result.output
    assert "[train-c-train/algo-1-1] METRICS epoch=1 val_accuracy=0.4000" in result.output
    assert "[train-c-train/algo-2-1] worker 2 ready" in result.output
    assert "another run's line" not in result.output
