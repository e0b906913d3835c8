"""`binventory costs` against moto, and the help text of every operator command."""

from __future__ import annotations

from typing import Any

import boto3
import click
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends
from sagemaker_resources import create_endpoint, create_training_job

from binventory.cli import cli
from binventory.costs import HOSTING_HOURLY_USD, PRICES_AS_OF, TRAINING_HOURLY_USD
from contracts import stack_outputs

OPERATOR_COMMANDS = {
    "data": {"fetch", "prepare", "upload", "synth", "manifest", "reviews"},
    "train": {"start", "plan", "status", "logs"},
    "model": {"list", "approve", "promote", "rollback"},
    "count": {"backfill"},
    "review": {"list", "show", "resolve", "stats"},
}


def test_costs_lists_what_runs_with_an_hourly_estimate_from_the_dated_table(
    aws: None, set_stack_outputs: Any, invoke: Any
) -> None:
    # given an endpoint on two instances and a training job in progress
    sagemaker = boto3.client("sagemaker")
    create_endpoint(sagemaker, "counter", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2})
    job = create_training_job(sagemaker, "train-x", "s3://artifacts/models/")
    job.training_job_status = "InProgress"  # moto finishes jobs at once
    set_stack_outputs(**{stack_outputs.ENDPOINT_NAME: "counter"})

    result = invoke("costs")

    assert result.exit_code == 0, result.output
    assert "2 x ml.m5.large" in result.output and "1 x ml.g5.xlarge" in result.output
    total = 2 * HOSTING_HOURLY_USD["ml.m5.large"] + TRAINING_HOURLY_USD["ml.g5.xlarge"]
    assert f"estimated total: ${total:.2f} per hour" in result.output
    assert PRICES_AS_OF in result.output


def test_costs_counts_only_this_stage_s_jobs_and_describes_no_one_else_s(
    aws: None, set_stack_outputs: Any, invoke: Any
) -> None:
    # given this stage's training job, another stage's, another project's, and another project's transform job
    sagemaker = boto3.client("sagemaker")
    create_endpoint(sagemaker, "counter", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1})
    for name, stage in (("ours", "dev"), ("prods", "prod"), ("theirs", None)):
        create_training_job(
            sagemaker, name, "s3://artifacts/models/", stage=stage
        ).training_job_status = "InProgress"
    sagemaker.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/x")
    sagemaker.create_transform_job(
        TransformJobName="their-batch-job",
        ModelName="m",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/"}}},
        TransformOutput={"S3OutputPath": "s3://x/out/"},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    )
    # moto finishes jobs at once
    sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].transform_jobs[
        "their-batch-job"
    ].transform_job_status = "InProgress"
    set_stack_outputs(**{stack_outputs.ENDPOINT_NAME: "counter"})

    # when the dev stage's costs are listed (the operator policy allows every call it makes: conftest)
    result = invoke("costs")

    # then only its own job is counted
    assert result.exit_code == 0, result.output
    assert "training job ours" in result.output
    assert (
        "prods" not in result.output and "theirs" not in result.output and "their-batch" not in result.output
    )
    total = HOSTING_HOURLY_USD["ml.m5.large"] + TRAINING_HOURLY_USD["ml.g5.xlarge"]
    assert f"estimated total: ${total:.2f} per hour" in result.output


def test_costs_per_million_prices_each_service_and_names_the_crossover_volume(invoke: Any) -> None:
    # when (offline: no stack, no AWS call)
    result = invoke("costs", "--per-million", "--model-ms", "20")

    # then each service has its line, both endpoint kinds a total, and the crossover is named
    assert result.exit_code == 0, result.output
    for service in ("Lambda compute", "SQS", "DynamoDB", "S3 requests", "EventBridge", "Serverless endpoint"):
        assert f"| {service} |" in result.output
    assert "total, serverless endpoint" in result.output and "total, real-time endpoint" in result.output
    assert "costs less than the serverless one (3072 MB) above" in result.output
    assert "20.00 ms per photo (measured: bench/bench_costs.py)" in result.output
    # each price says how old it is: the real-time instance's is the hourly table's, not the per-photo one's
    assert f"real-time instance's ${HOSTING_HOURLY_USD['ml.m5.large']:.3f}/h" in result.output
    assert f"hourly table as of {PRICES_AS_OF}" in result.output


def test_help_covers_every_operator_command(invoke: Any) -> None:
    top = invoke("--help")
    assert top.exit_code == 0
    assert all(name in top.output for name in (*OPERATOR_COMMANDS, "costs", "status"))
    for group_name, commands in OPERATOR_COMMANDS.items():
        group = cli.commands[group_name]
        assert isinstance(group, click.Group) and set(group.commands) == commands
        listing = invoke(group_name, "--help")
        assert listing.exit_code == 0 and all(command in listing.output for command in commands)
        for command in commands:
            detail = invoke(group_name, command, "--help")
            assert detail.exit_code == 0 and "Usage:" in detail.output, (group_name, command)
    assert invoke("costs", "--help").exit_code == 0
    assert invoke("status", "--help").exit_code == 0
