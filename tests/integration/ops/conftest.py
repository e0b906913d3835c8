"""Fixtures for the operator-command tests: moto for every AWS call, and the CLI invoked in-process."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from iam_check.operator import OPERATOR_POLICY, check_cli_calls
from iam_check.recording import CallRecorder, record_calls
from moto import mock_aws
from moto.cloudwatch.models import Statistics
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

import binventory
from binventory.cli import cli
from binventory.resources import env_var_for
from contracts import stack_outputs

REGION = "us-east-1"
CLI_CODE = Path(binventory.__file__).resolve().parent


@pytest.fixture(autouse=True)
def cli_calls(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[CallRecorder]:
    """Every AWS call the CLI makes must be one the documented operator policy (docs/) allows (or, for a
    test marked `iam_policy("approver-policy.json")`, that policy), and every transform job it starts must
    be able to do its work with its role."""
    recorder = record_calls(monkeypatch, CLI_CODE)
    yield recorder
    marker = request.node.get_closest_marker("iam_policy")
    policy = OPERATOR_POLICY if marker is None else OPERATOR_POLICY.with_name(marker.args[0])
    if recorder.calls:
        check_cli_calls(recorder, policy)


@pytest.fixture
def aws(fake_aws_credentials: str) -> Iterator[None]:
    """Fake credentials and one moto account; no request leaves the process."""
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def invoke() -> Any:
    """Run `binventory ARGS...` and return click's Result (output and exit code)."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def set_stack_outputs(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the CLI at resources created in moto, as the stacks' CloudFormation outputs would."""

    def set_outputs(**values: str) -> None:
        for output_id, value in values.items():
            monkeypatch.setenv(env_var_for(output_id), value)

    return set_outputs


@pytest.fixture
def state_machine(aws: None, set_stack_outputs: Any) -> str:
    """A one-state training state machine in moto, named by the training stack's output."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="binventory-dev-training",
        definition=json.dumps({"StartAt": "Train", "States": {"Train": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    set_stack_outputs(**{stack_outputs.TRAINING_STATE_MACHINE_ARN: arn})
    return arn


@pytest.fixture
def sagemaker_update_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Emulate UpdateEndpoint, which moto 5.2.5 lacks: the endpoint ends up InService on the new config.

    Added to moto's own SageMaker responder, so every other call in the test still goes through moto.
    """

    def update_endpoint(self: SageMakerResponse) -> ActionResult:
        backend = self.sagemaker_backend
        endpoint = backend.endpoints[self._get_param("EndpointName")]
        config = backend.endpoint_configs[self._get_param("EndpointConfigName")]
        endpoint.endpoint_config_name = config.endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        endpoint.endpoint_status = "InService"
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(SageMakerResponse, "update_endpoint", update_endpoint, raising=False)


@pytest.fixture
def sagemaker_deploys_only_approved_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse CreateModel for a model package that is not Approved, as SageMaker does (moto does not)."""
    create_model = SageMakerModelBackend.create_model

    def create_approved_only(self: SageMakerModelBackend, **request: Any) -> Any:
        containers = [request.get("primary_container") or {}, *(request.get("containers") or [])]
        for package_name in filter(None, (container.get("ModelPackageName") for container in containers)):
            status = self.describe_model_package(package_name).model_approval_status
            if status != "Approved":
                raise ValidationError(
                    f"Model package {package_name} has ModelApprovalStatus {status}; only Approved "
                    "model packages can be deployed."
                )
        return create_model(self, **request)

    monkeypatch.setattr(SageMakerModelBackend, "create_model", create_approved_only)


@pytest.fixture
def transform_answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Emulate what a Batch Transform job writes; moto records the job as Completed but runs nothing.

    Register `answers[<input key>] = <prediction JSON>`; creating a job then writes
    `<S3OutputPath>/<manifest entry>.out` with that answer for every manifest entry that has one.
    """
    answers: dict[str, dict[str, Any]] = {}
    create_job = SageMakerModelBackend.create_transform_job

    def create_and_run(self: SageMakerModelBackend, **request: Any) -> Any:
        job = create_job(self, **request)
        s3 = boto3.client("s3")
        manifest_bucket, _, manifest_key = request["transform_input"]["DataSource"]["S3DataSource"]["S3Uri"][
            5:
        ].partition("/")
        prefix, *entries = json.loads(s3.get_object(Bucket=manifest_bucket, Key=manifest_key)["Body"].read())
        input_root = prefix["prefix"][5:].partition("/")[2]
        output_bucket, _, output_root = request["transform_output"]["S3OutputPath"][5:].partition("/")
        for entry in entries:
            if input_root + entry in answers:
                s3.put_object(
                    Bucket=output_bucket,
                    Key=f"{output_root}{entry}.out",
                    Body=json.dumps(answers[input_root + entry]).encode(),
                )
        return job

    monkeypatch.setattr(SageMakerModelBackend, "create_transform_job", create_and_run)
    return answers


@pytest.fixture
def cloudwatch_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Emulate percentile statistics (`p90`) in GetMetricData, which moto 5.2.5 answers with an error.

    Nearest-rank over the values stored in the period, as CloudWatch computes percentiles of raw values.
    """
    original = Statistics.get_statistics_for_type

    def with_percentiles(self: Statistics, stat: str) -> Any:
        if len(stat) > 1 and stat[0] == "p" and stat[1:].replace(".", "", 1).isdigit():
            values = sorted(self.metric_single_values_list)
            rank = max(1, math.ceil(float(stat[1:]) / 100 * len(values)))
            return values[rank - 1]
        return original(self, stat)

    monkeypatch.setattr(Statistics, "get_statistics_for_type", with_percentiles)
