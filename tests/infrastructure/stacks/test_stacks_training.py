"""The training stack: the state machine's steps and requests, its IAM, images and notifications."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from iam_check import sagemaker_jobs
from iam_check.check import ServiceCall, assert_allowed, denials
from iam_check.requests import IamRequest
from iam_check.templates import Deployment
from stacks_testkit import (
    REPO_ROOT,
    SynthesizedApp,
    TaskCall,
    as_list,
    context_with,
    only_resource,
    policy_statements,
    render,
    resources,
    run_state_machine,
    state_machine_definition,
    walk,
)

from contracts import metric_lines, stack_outputs
from contracts.deployment_settings import SettingsError, load_settings
from stacks.training_pipeline import container_images
from stacks.training_pipeline.source_bundle import write_source_archive

STARTER = "arn:aws:sts::123456789012:assumed-role/binventory-operator/alice"
EXECUTION_INPUT = {
    "hyperparameters": {"backbone": "resnet34", "epochs": "30", "lr": "0.001"},
    "started_by": STARTER,
    "tune": True,
    "tuning": {
        "max_jobs": 8,
        "max_parallel_jobs": 2,
        "parameter_ranges": {
            "ContinuousParameterRanges": [
                {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.01", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [{"Name": "loss", "Values": ["ce", "ordinal"]}],
        },
    },
}
BEST_JOB = "tune-20261121-101500-tune-003-1a2b3c4d"
TASK_RESULTS = {
    "Train": {"TrainingJobName": "tune-20261121-101500-train"},
    "Tune hyperparameters": {"BestTrainingJob": {"TrainingJobName": BEST_JOB}},
    "Describe best training job": {
        "TrainingJobName": BEST_JOB,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{BEST_JOB}",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://artifacts/models/{BEST_JOB}/output/model.tar.gz"},
        "FinalMetricDataList": [
            {"MetricName": "validation:accuracy", "Value": 0.6125, "Timestamp": "2026-11-21T10:15:00Z"},
            {"MetricName": "validation:rmse", "Value": 1.0213, "Timestamp": "2026-11-21T10:15:00Z"},
        ],
    },
    "Publish model package": {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-dev-countnet/4"
    },
}


@pytest.fixture(scope="module")
def definition(dev_app: SynthesizedApp) -> dict[str, Any]:
    return state_machine_definition(dev_app.template("training"))


TRAINING_INPUT = {"hyperparameters": EXECUTION_INPUT["hyperparameters"], "tune": False}
MANIFEST = {"name": "challenge", "input_mode": "FastFile"}


@pytest.fixture(scope="module")
def tuned_run(definition: dict[str, Any]) -> tuple[list[TaskCall], Any]:
    return run_state_machine(definition, EXECUTION_INPUT, TASK_RESULTS, execution_name="tune-20261121-101500")


@pytest.fixture(scope="module")
def trained_run(definition: dict[str, Any]) -> tuple[list[TaskCall], Any]:
    return run_state_machine(definition, TRAINING_INPUT, TASK_RESULTS, execution_name="train-20261121-101500")


@pytest.fixture(scope="module")
def manifest_runs(definition: dict[str, Any]) -> dict[str, tuple[list[TaskCall], Any]]:
    """A training run and a tuning run on the manifest dataset `challenge` (FastFile input)."""
    runs = {"train": TRAINING_INPUT, "tune": EXECUTION_INPUT}
    return {
        kind: run_state_machine(
            definition, {**run_input, "manifest": MANIFEST}, TASK_RESULTS, execution_name=f"{kind}-20261130"
        )
        for kind, run_input in runs.items()
    }


def _call(calls: list[TaskCall], api: str) -> dict[str, Any]:
    (arguments,) = [call.arguments for call in calls if call.api == api]
    return arguments


def test_steps_choose_tuning_or_one_training_job_then_describe_and_publish(
    definition: dict[str, Any],
) -> None:
    tuned = list(walk(definition, choose="first"))
    untuned = list(walk(definition, choose="default"))

    assert tuned[-4:] == [
        "Tune?",
        "Tune hyperparameters",
        "Describe best training job",
        "Publish model package",
    ]
    assert untuned[-4:] == ["Tune?", "Train", "Describe best training job", "Publish model package"]
    # A tuning run's trials are its training jobs: it runs no training job of its own, and vice versa.
    assert "Train" not in tuned
    assert "Tune hyperparameters" not in untuned
    states = definition["States"]
    assert states["Train"]["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")
    assert states["Tune hyperparameters"]["Resource"].endswith(
        ":states:::sagemaker:createHyperParameterTuningJob.sync"
    )
    assert states["Publish model package"]["Resource"].endswith(":aws-sdk:sagemaker:createModelPackage")
    assert definition["QueryLanguage"] == "JSONata"


@pytest.mark.parametrize("state", ["Train", "Tune hyperparameters"])
def test_job_steps_retry_quota_and_throttling_errors_with_backoff(
    definition: dict[str, Any], state: str
) -> None:
    retries = {
        error: retry for retry in definition["States"][state]["Retry"] for error in retry["ErrorEquals"]
    }

    for error in ("SageMaker.ResourceLimitExceededException", "SageMaker.ThrottlingException"):
        assert retries[error]["BackoffRate"] > 1
        assert retries[error]["MaxAttempts"] >= 3


@pytest.mark.parametrize(
    "state", ["Train", "Tune hyperparameters", "Describe best training job", "Publish model package"]
)
def test_no_step_retries_an_error_that_names_every_sagemaker_failure(
    definition: dict[str, Any], state: str
) -> None:
    # a ValidationException arrives as the catch-all SageMaker.AmazonSageMakerException: retrying it would
    # re-send a Create* that SageMaker refuses again (the job name is taken, the request still wrong)
    retried = {
        error for retry in definition["States"][state].get("Retry", []) for error in retry["ErrorEquals"]
    }

    assert not retried & {"SageMaker.AmazonSageMakerException", "SageMaker.SageMakerException", "States.ALL"}


def test_a_training_job_profiles_itself_and_runs_the_profiler_rules_that_fit_it(
    trained_run: tuple[list[TaskCall], Any], dev_app: SynthesizedApp
) -> None:
    training = _call(trained_run[0], "CreateTrainingJob")

    assert training["ProfilerConfig"]["S3OutputPath"].endswith("/models/")
    assert training["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 500
    rules = {rule["RuleConfigurationName"]: rule for rule in training["ProfilerRuleConfigurations"]}
    # the report, and a GPU left idle (the loader starving it, or an instance too large for the batch)
    assert set(rules) == {"ProfilerReport", "LowGPUUtilization"}
    for name, rule in rules.items():
        assert rule["RuleParameters"]["rule_to_invoke"] == name
        assert (
            rule["RuleEvaluatorImage"]
            == "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
        )


def test_every_request_is_valid_for_the_sagemaker_api(
    tuned_run: tuple[list[TaskCall], Any],
    trained_run: tuple[list[TaskCall], Any],
    manifest_runs: dict[str, tuple[list[TaskCall], Any]],
) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")

    assert [call.api for call in tuned_run[0]] == [
        "CreateHyperParameterTuningJob",
        "DescribeTrainingJob",
        "CreateModelPackage",
    ]
    assert [call.api for call in trained_run[0]] == [
        "CreateTrainingJob",
        "DescribeTrainingJob",
        "CreateModelPackage",
    ]
    assert [call.api for call in manifest_runs["train"][0]] == [call.api for call in trained_run[0]]
    assert [call.api for call in manifest_runs["tune"][0]] == [call.api for call in tuned_run[0]]
    for call in tuned_run[0] + trained_run[0] + manifest_runs["train"][0] + manifest_runs["tune"][0]:
        report = ParamValidator().validate(call.arguments, model.operation_model(call.api).input_shape)
        assert not report.has_errors(), f"{call.state}: {report.generate_report()}"


def test_a_manifest_run_streams_public_images_through_fastfile_manifests_with_labels_beside_them(
    manifest_runs: dict[str, tuple[list[TaskCall], Any]],
) -> None:
    training = _call(manifest_runs["train"][0], "CreateTrainingJob")["InputDataConfig"]
    tuning = _call(manifest_runs["tune"][0], "CreateHyperParameterTuningJob")["TrainingJobDefinition"][
        "InputDataConfig"
    ]

    folder = "s3://<DatasetBucket>/manifests/challenge/"
    for channels in (training, tuning):
        sources = {c["ChannelName"]: (c["InputMode"], c["DataSource"]["S3DataSource"]) for c in channels}
        assert list(sources) == ["train", "validation", "test", "labels"]
        for name in ("train", "validation", "test"):
            mode, source = sources[name]
            assert (mode, source["S3DataType"]) == ("FastFile", "ManifestFile")
            assert _bucket_placeholder(source["S3Uri"]) == f"{folder}{name}.manifest"
        mode, source = sources["labels"]
        assert (mode, source["S3DataType"]) == ("File", "S3Prefix")
        assert _bucket_placeholder(source["S3Uri"]) == f"{folder}labels/"


def test_a_manifest_run_can_download_its_images_instead(definition: dict[str, Any]) -> None:
    run_input = {**TRAINING_INPUT, "manifest": {"name": "metadata", "input_mode": "File"}}

    calls, _ = run_state_machine(definition, run_input, TASK_RESULTS, execution_name="train-20261130-0910")

    channels = _call(calls, "CreateTrainingJob")["InputDataConfig"]
    assert [c["InputMode"] for c in channels] == ["File"] * 4
    assert _bucket_placeholder(channels[0]["DataSource"]["S3DataSource"]["S3Uri"]).endswith(
        "/manifests/metadata/train.manifest"
    )


def _bucket_placeholder(uri: str) -> str:
    """`s3://<DatasetBucket...>/x` -> `s3://<DatasetBucket>/x` (the rendered cross-stack reference)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"s3://{'<DatasetBucket>' if 'Dataset' in bucket else bucket}/{key}"


def test_a_tuning_run_starts_no_training_job_of_its_own(tuned_run: tuple[list[TaskCall], Any]) -> None:
    calls, final_output = tuned_run

    assert "CreateTrainingJob" not in [call.api for call in calls]
    assert _call(calls, "DescribeTrainingJob") == {"TrainingJobName": BEST_JOB}
    assert final_output["TrainingJobName"] == BEST_JOB


def test_training_job_is_named_from_the_execution_and_runs_spot_with_checkpoints(
    dev_app: SynthesizedApp, trained_run: tuple[list[TaskCall], Any]
) -> None:
    settings = dev_app.settings.training
    job = _call(trained_run[0], "CreateTrainingJob")

    assert job["TrainingJobName"] == "train-20261121-101500-train"
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {
        "MaxRuntimeInSeconds": settings.max_runtime_seconds,
        "MaxWaitTimeInSeconds": settings.max_wait_seconds,
    }
    assert job["CheckpointConfig"]["S3Uri"].endswith(
        f"/{stack_outputs.ARTIFACTS_CHECKPOINTS_PREFIX}train-20261121-101500-train"
    )
    assert job["ResourceConfig"] == {
        "InstanceType": settings.instance_type,
        "InstanceCount": settings.instance_count,
        "VolumeSizeInGB": settings.volume_size_gb,
    }
    assert [channel["ChannelName"] for channel in job["InputDataConfig"]] == list(
        stack_outputs.DATASET_CHANNELS
    )


def test_training_job_runs_train_py_from_the_source_archive_with_the_input_hyperparameters(
    trained_run: tuple[list[TaskCall], Any],
) -> None:
    hyperparameters = _call(trained_run[0], "CreateTrainingJob")["HyperParameters"]

    assert {key: hyperparameters[key] for key in EXECUTION_INPUT["hyperparameters"]} == EXECUTION_INPUT[
        "hyperparameters"
    ]
    assert hyperparameters["sagemaker_program"] == "train.py"
    assert hyperparameters["sagemaker_submit_directory"].startswith("s3://cdk-")
    assert hyperparameters["sagemaker_region"] == "us-east-1"


def test_jobs_parse_the_metrics_train_py_prints_from_the_registry_image(
    dev_app: SynthesizedApp, tuned_run: tuple[list[TaskCall], Any], trained_run: tuple[list[TaskCall], Any]
) -> None:
    training = _call(trained_run[0], "CreateTrainingJob")["AlgorithmSpecification"]
    tuning = _call(tuned_run[0], "CreateHyperParameterTuningJob")["TrainingJobDefinition"][
        "AlgorithmSpecification"
    ]

    for specification in (training, tuning):
        assert specification["MetricDefinitions"] == metric_lines.metric_definitions()
        assert specification["TrainingImage"] == container_images.training_image(dev_app.settings).uri
    assert "pytorch-training" in training["TrainingImage"]


def test_tuning_is_bayesian_on_the_logged_objective_with_the_inputs_budget_and_ranges(
    tuned_run: tuple[list[TaskCall], Any],
) -> None:
    tuning = _call(tuned_run[0], "CreateHyperParameterTuningJob")
    config = tuning["HyperParameterTuningJobConfig"]

    assert len(tuning["HyperParameterTuningJobName"]) <= 32
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": metric_lines.OBJECTIVE_TYPE,
        "MetricName": metric_lines.OBJECTIVE_METRIC,
    }
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2}
    assert config["ParameterRanges"] == EXECUTION_INPUT["tuning"]["parameter_ranges"]
    static = tuning["TrainingJobDefinition"]["StaticHyperParameters"]
    # lr is tuned, so it must not also be static (SageMaker rejects a name in both).
    assert "lr" not in static
    assert static["backbone"] == "resnet34" and static["sagemaker_program"] == "train.py"


def test_the_best_job_is_published_with_its_final_metrics(
    dev_app: SynthesizedApp, tuned_run: tuple[list[TaskCall], Any]
) -> None:
    calls, final_output = tuned_run
    package = _call(calls, "CreateModelPackage")

    assert _call(calls, "DescribeTrainingJob") == {"TrainingJobName": BEST_JOB}
    assert package["ModelPackageGroupName"] == "binventory-dev-countnet"
    assert package["ModelApprovalStatus"] == dev_app.settings.training.model_approval_status
    assert package["CustomerMetadataProperties"] == {
        "training_job_name": BEST_JOB,
        # who started the run: `binventory model approve` refuses to let them approve this version
        stack_outputs.PACKAGE_STARTED_BY: STARTER,
        "validation:accuracy": "0.6125",
        "validation:rmse": "1.0213",
    }
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == f"s3://artifacts/models/{BEST_JOB}/output/model.tar.gz"
    assert container["Image"] == container_images.inference_image(dev_app.settings).uri
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert final_output == {
        "ModelPackageArn": TASK_RESULTS["Publish model package"]["ModelPackageArn"],
        "TrainingJobName": BEST_JOB,
    }


def test_without_tuning_the_training_job_itself_is_published(definition: dict[str, Any]) -> None:
    results = {**TASK_RESULTS, "Describe best training job": {**TASK_RESULTS["Describe best training job"]}}

    calls, _ = run_state_machine(
        definition, {"hyperparameters": {"epochs": "2"}, "tune": False}, results, execution_name="train-1"
    )

    assert [call.api for call in calls] == ["CreateTrainingJob", "DescribeTrainingJob", "CreateModelPackage"]
    assert _call(calls, "DescribeTrainingJob") == {"TrainingJobName": "tune-20261121-101500-train"}


def test_state_machine_logs_every_execution_and_traces_it(dev_app: SynthesizedApp) -> None:
    machine = only_resource(dev_app.template("training"), "AWS::StepFunctions::StateMachine")["Properties"]

    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is True


def _statement_with(statements: list[dict[str, Any]], action: str) -> dict[str, Any]:
    (statement,) = [statement for statement in statements if action in as_list(statement["Action"])]
    return statement


def test_custom_job_states_get_the_iam_their_sync_integrations_need(dev_app: SynthesizedApp) -> None:
    statements = policy_statements(dev_app.template("training"), "PipelineStateMachineRoleDefaultPolicy")

    tuning = _statement_with(statements, "sagemaker:CreateHyperParameterTuningJob")
    assert sorted(tuning["Action"]) == [
        "sagemaker:AddTags",
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ]
    assert render(tuning["Resource"]).endswith(":hyper-parameter-tuning-job/*")
    rules = _statement_with(statements, "events:PutTargets")
    assert sorted(rules["Action"]) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert sorted(resource.rsplit(":", 1)[1] for resource in render(as_list(rules["Resource"]))) == [
        "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        "rule/StepFunctionsGetEventsForSageMakerTuningJobsRule",
    ]
    pass_role = _statement_with(statements, "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # the state machine hands SageMaker the training role, and no other
    assert render(pass_role["Resource"]).startswith("<TrainingRole")


_SAGEMAKER = "arn:aws:sagemaker:us-east-1:123456789012"
_RULE = "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMaker"
_TRAINING_JOB = f"{_SAGEMAKER}:training-job/train-20261121-101500-train"
_TUNING_JOB = f"{_SAGEMAKER}:hyper-parameter-tuning-job/tune-20261121-101500-tune"
_EXECUTION_ROLE = "<the SageMaker execution role>"
# What each Task's integration needs, as (action, resource it acts on; "*" where AWS documents any resource).
# `.sync` jobs: AWS Step Functions Developer Guide, "IAM policies for Amazon SageMaker" (sagemaker-iam.html),
# plus sagemaker:AddTags: Step Functions tags the jobs it starts (aws-cdk#32294; CDK's own training task
# grants it). `aws-sdk:` integrations: the API's own action on its resource.
DOCUMENTED_IAM: dict[str, list[tuple[str, str]]] = {
    "sagemaker:createTrainingJob.sync": [
        ("sagemaker:CreateTrainingJob", _TRAINING_JOB),
        ("sagemaker:DescribeTrainingJob", _TRAINING_JOB),
        ("sagemaker:StopTrainingJob", _TRAINING_JOB),
        ("sagemaker:AddTags", _TRAINING_JOB),
        ("sagemaker:ListTags", "*"),
        ("iam:PassRole", _EXECUTION_ROLE),
        ("events:PutTargets", f"{_RULE}TrainingJobsRule"),
        ("events:PutRule", f"{_RULE}TrainingJobsRule"),
        ("events:DescribeRule", f"{_RULE}TrainingJobsRule"),
    ],
    "sagemaker:createHyperParameterTuningJob.sync": [
        ("sagemaker:CreateHyperParameterTuningJob", _TUNING_JOB),
        ("sagemaker:DescribeHyperParameterTuningJob", _TUNING_JOB),
        ("sagemaker:StopHyperParameterTuningJob", _TUNING_JOB),
        ("sagemaker:ListTrainingJobsForHyperParameterTuningJob", _TUNING_JOB),
        ("sagemaker:AddTags", _TUNING_JOB),
        ("sagemaker:ListTags", "*"),
        ("iam:PassRole", _EXECUTION_ROLE),
        ("events:PutTargets", f"{_RULE}TuningJobsRule"),
        ("events:PutRule", f"{_RULE}TuningJobsRule"),
        ("events:DescribeRule", f"{_RULE}TuningJobsRule"),
    ],
    "aws-sdk:sagemaker:describeTrainingJob": [("sagemaker:DescribeTrainingJob", _TRAINING_JOB)],
    "aws-sdk:sagemaker:createModelPackage": [
        ("sagemaker:CreateModelPackage", f"{_SAGEMAKER}:model-package/binventory-dev-countnet/4")
    ],
}
# What the state machine itself does with its role for execution logging to CloudWatch Logs and X-Ray
# tracing (Step Functions Developer Guide, "IAM policies for logging to CloudWatch Logs"; "X-Ray").
DOCUMENTED_MACHINE_IAM = [
    *(
        (f"logs:{action}", "*")
        for action in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
            "DescribeLogGroups",
        )
    ),
    *((f"xray:{action}", "*") for action in ("PutTraceSegments", "PutTelemetryRecords")),
    *((f"xray:{action}", "*") for action in ("GetSamplingRules", "GetSamplingTargets")),
]
# The request context of iam:PassRole as Step Functions makes it (the documented policy's condition).
_PASS_ROLE_CONTEXT = {"iam:PassedToService": "sagemaker.amazonaws.com"}


def test_state_machine_role_holds_what_each_integration_is_documented_to_need(
    dev_app: SynthesizedApp, definition: dict[str, Any]
) -> None:
    deployment = Deployment(dev_app.templates)
    execution_role = deployment.role_arn(TRAINING_ROLE)
    tasks = {
        name: state["Resource"] for name, state in definition["States"].items() if state["Type"] == "Task"
    }
    calls = [
        ServiceCall(
            "Step Functions execution logging and tracing",
            tuple(IamRequest(action, target) for action, target in DOCUMENTED_MACHINE_IAM),
        )
    ]
    for name, resource in tasks.items():
        integration = resource.split(":::", 1)[1]
        assert integration in DOCUMENTED_IAM, f"{name}: add the documented IAM of {integration} to this test"
        requests = tuple(
            IamRequest(action, execution_role, _PASS_ROLE_CONTEXT)
            if target == _EXECUTION_ROLE
            else IamRequest(action, target)
            for action, target in DOCUMENTED_IAM[integration]
        )
        calls.append(ServiceCall(f"state {name!r} ({integration})", requests))

    assert len(tasks) == 4
    assert_allowed(deployment.role_policy("Pipeline/StateMachine/Role"), calls)


def test_training_role_reads_only_the_public_bucket_s_images_and_metadata(dev_app: SynthesizedApp) -> None:
    statements = policy_statements(dev_app.template("training"), "TrainingRole")

    granted = sorted(
        (action, resource, json.dumps(statement.get("Condition"), sort_keys=True))
        for statement in statements
        for action in as_list(statement["Action"])
        for resource in map(render, as_list(statement["Resource"]))
        if "aft-vbi-pds" in resource
    )
    assert granted == [
        ("s3:GetObject", "arn:aws:s3:::aft-vbi-pds/bin-images/*", "null"),
        ("s3:GetObject", "arn:aws:s3:::aft-vbi-pds/metadata/*", "null"),
        (
            "s3:ListBucket",
            "arn:aws:s3:::aft-vbi-pds",
            json.dumps({"StringLike": {"s3:prefix": ["bin-images/*", "metadata/*"]}}, sort_keys=True),
        ),
    ]


# What each job does in S3 (bucket/key, as DEPLOYED_BUCKETS names them), and what it must not do.
_READ, _WRITE = "s3:GetObject", "s3:PutObject"
_S3_WORK = {
    "TrainingRole": {
        (_READ, "dataset/train/00001.jpg"),
        # its profiler rules read the profile it wrote under models/<job>/profiler-output/
        (_READ, "artifacts/models/job/output/model.tar.gz"),
        (_READ, "aft-vbi-pds/bin-images/00001.jpg"),
        (_READ, "artifacts/checkpoints/job/checkpoint.pt"),
        (_WRITE, "artifacts/checkpoints/job/checkpoint.pt"),
        (_WRITE, "artifacts/models/job/output/model.tar.gz"),
    },
    "ServingRole": {(_READ, "artifacts/models/job/output/model.tar.gz")},
    "TransformRole": {
        (_READ, "artifacts/models/job/output/model.tar.gz"),
        (_READ, "artifacts/transform/backfill-1/input.manifest"),
        (_READ, "ingest/incoming/bin-42/a.jpg"),
        (_READ, "ingest/bin-images/00001.jpg"),
        (_WRITE, "artifacts/transform/backfill-1/output/00001.jpg.out"),
    },
}
_ALL_S3_WORK = set().union(*_S3_WORK.values()) | {
    (_READ, "ingest/metadata/00001.json"),
    (_WRITE, "artifacts/data-capture/x.jsonl"),
    (_WRITE, "ingest/incoming/bin-42/a.jpg"),
}


@pytest.mark.parametrize("role", sorted(_S3_WORK))
def test_each_sagemaker_job_has_a_role_of_its_own_allowed_its_own_s3_work_and_nothing_else(
    dev_app: SynthesizedApp, role: str
) -> None:
    policy = Deployment(dev_app.templates, DEPLOYED_BUCKETS).role_policy(f"{role}/Role")

    def allowed(action: str, where: str) -> bool:
        request = IamRequest(action, f"arn:aws:s3:::{where}", {"aws:SecureTransport": "true"})
        return not denials(policy, [ServiceCall(f"{action} {where}", (request,))])

    assert {work for work in _ALL_S3_WORK if allowed(*work)} == _S3_WORK[role]


def test_the_serving_role_cannot_read_photos_or_training_data_or_overwrite_a_served_model(
    dev_app: SynthesizedApp,
) -> None:
    # given the serving role as deployed
    deployment = Deployment(dev_app.templates, DEPLOYED_BUCKETS)
    transport = {"aws:SecureTransport": "true"}
    attempts = [
        ServiceCall(
            "serving code reading a photo, a training image, and writing a served model archive",
            (
                IamRequest("s3:GetObject", "arn:aws:s3:::ingest/bin-images/00001.jpg", transport),
                IamRequest("s3:GetObject", "arn:aws:s3:::dataset/train/00001.jpg", transport),
                IamRequest(
                    "s3:PutObject", "arn:aws:s3:::artifacts/models/job/output/model.tar.gz", transport
                ),
            ),
        )
    ]

    # then IAM refuses each of them
    assert len(denials(deployment.role_policy("ServingRole/Role"), attempts)) == 3


@pytest.mark.parametrize("role", ["TrainingRole", "ServingRole", "TransformRole"])
def test_only_this_account_s_sagemaker_may_assume_each_role(dev_app: SynthesizedApp, role: str) -> None:
    (trust,) = [
        resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for key, resource in resources(dev_app.template("training"), "AWS::IAM::Role").items()
        if key.startswith(role)
    ]

    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ]


def test_finished_runs_notify_an_encrypted_topic(dev_app: SynthesizedApp) -> None:
    template = dev_app.template("training")
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]

    assert rule["EventPattern"]["source"] == ["aws.states"]
    assert rule["EventPattern"]["detail"]["status"] == ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    topic = only_resource(template, "AWS::SNS::Topic")["Properties"]
    assert rule["Targets"][0]["Arn"] == {"Ref": next(iter(_topic_ids(template)))}
    assert "KmsMasterKeyId" in topic


def _topic_ids(template: dict[str, Any]) -> list[str]:
    return [key for key, value in template["Resources"].items() if value["Type"] == "AWS::SNS::Topic"]


def test_training_outputs_carry_what_the_cli_reads(dev_app: SynthesizedApp) -> None:
    template_outputs = dev_app.template("training")["Outputs"]

    assert template_outputs[stack_outputs.MODEL_PACKAGE_GROUP_NAME]["Value"] == "binventory-dev-countnet"
    assert (
        template_outputs[stack_outputs.INFERENCE_IMAGE_URI]["Value"]
        == container_images.inference_image(dev_app.settings).uri
    )
    assert "pytorch-inference" in template_outputs[stack_outputs.INFERENCE_IMAGE_URI]["Value"]
    assert stack_outputs.TRAINING_STATE_MACHINE_ARN in template_outputs
    for output_id in (
        stack_outputs.TRAINING_ROLE_ARN,
        stack_outputs.SERVING_ROLE_ARN,
        stack_outputs.TRANSFORM_ROLE_ARN,
    ):
        assert output_id in template_outputs


@pytest.mark.parametrize(
    ("scope", "instance_type", "tag"),
    [
        ("training", "ml.g5.xlarge", "2.6.0-gpu-py312-cu126-ubuntu22.04-sagemaker"),
        ("training", "ml.m5.xlarge", "2.6.0-cpu-py312-ubuntu22.04-sagemaker"),
        ("inference", "ml.g5.xlarge", "2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker"),
        ("inference", "ml.m5.large", "2.6.0-cpu-py312-ubuntu22.04-sagemaker"),
    ],
)
def test_images_are_pinned_to_the_full_dlc_tag_aws_publishes(
    scope: str, instance_type: str, tag: str
) -> None:
    settings = load_settings(
        context_with(
            {
                "binventory.training.instance_type": instance_type,
                "binventory.endpoint.mode": "realtime",
                "binventory.endpoint.instance_type": instance_type,
            }
        )
    )

    image = (
        container_images.training_image(settings)
        if scope == "training"
        else container_images.inference_image(settings)
    )

    assert image.uri == f"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-{scope}:{tag}"


def test_a_framework_version_without_a_pinned_build_fails_synth_naming_the_key() -> None:
    # given a version the SDK's registry knows (training image only) but no pin names
    settings = load_settings(context_with({"binventory.training.framework_version": "2.8.0"}))

    # when / then
    expected = r"binventory\.training\.framework_version: 2\.8\.0 .*pinned: 2\.6\.0"
    with pytest.raises(SettingsError, match=expected):
        container_images.training_image(settings)


def test_source_archive_is_reproducible_and_leaves_caches_out(tmp_path: Path) -> None:
    # given
    source = tmp_path / "model_code"
    (source / "countnet" / "__pycache__").mkdir(parents=True)
    (source / "train.py").write_text("print('train')\n")
    (source / "countnet" / "model.py").write_text("X = 1\n")
    (source / "countnet" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")

    # when
    first, second = tmp_path / "first.tar.gz", tmp_path / "second.tar.gz"
    write_source_archive(source, first)
    (source / "train.py").touch()
    write_source_archive(source, second)

    # then
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as archive:
        assert sorted(archive.getnames()) == ["countnet/model.py", "train.py"]


def test_the_training_source_ships_the_contracts_beside_train_py(dev_app: SynthesizedApp) -> None:
    # given the source archive the synthesized training job names
    bundle = dev_app.stacks.training.node.find_child("TrainingSource")
    with tarfile.open(dev_app.outdir / bundle.asset.asset_path) as archive:
        names = set(archive.getnames())

    # then train.py and countnet are at its root, with every contract they import beside them
    assert {"train.py", "inference.py", "countnet/__init__.py", "contracts/__init__.py"} <= names
    assert {"contracts/recipe.json", "contracts/abid_split.csv", "contracts/label_corrections.csv"} <= names
    model_code = REPO_ROOT / "model_code"
    imported = {
        module
        for path in model_code.rglob("*.py")
        for module in re.findall(r"^\s*from contracts\.(\w+) import", path.read_text(), re.M)
    }
    assert imported and {f"contracts/{module}.py" for module in imported} <= names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


# --- the SageMaker execution role: what SageMaker does with it ------------------------------------------
# The buckets as a test deploys them (TASK_RESULTS' model archive is in "artifacts").
DEPLOYED_BUCKETS = {
    "Buckets/Dataset": "dataset",
    "Buckets/Artifacts": "artifacts",
    "Buckets/Ingest": "ingest",
}
TRAINING_ROLE = "TrainingRole/Role"


def _deployed_run(app: SynthesizedApp, execution_input: dict[str, Any], name: str) -> list[TaskCall]:
    """The state machine's requests with the deployed bucket names in place of CloudFormation's."""
    deployment = Deployment(app.templates, DEPLOYED_BUCKETS)
    stack = stack_outputs.stack_name(app.settings.stage, "training")
    machine = only_resource(app.template("training"), "AWS::StepFunctions::StateMachine")
    definition = json.loads(deployment.resolve(stack, machine["Properties"]["DefinitionString"]))
    calls, _ = run_state_machine(definition, execution_input, TASK_RESULTS, execution_name=name)
    return calls


def test_a_training_job_can_do_with_its_role_what_sagemaker_does(dev_app: SynthesizedApp) -> None:
    request = _call(_deployed_run(dev_app, TRAINING_INPUT, "train-20261121-101500"), "CreateTrainingJob")

    # channels, source archive, model output, spot checkpoints, image pull, logs and metrics
    assert_allowed(
        Deployment(dev_app.templates, DEPLOYED_BUCKETS).role_policy(TRAINING_ROLE),
        sagemaker_jobs.training_job(request, region=dev_app.settings.region),
    )


def test_tuning_trials_can_do_with_the_role_what_sagemaker_does(dev_app: SynthesizedApp) -> None:
    request = _call(
        _deployed_run(dev_app, EXECUTION_INPUT, "tune-20261121-101500"), "CreateHyperParameterTuningJob"
    )

    assert_allowed(
        Deployment(dev_app.templates, DEPLOYED_BUCKETS).role_policy(TRAINING_ROLE),
        sagemaker_jobs.tuning_trials(request, region=dev_app.settings.region),
    )


def test_the_endpoint_can_do_with_the_role_what_serving_does(prod_app: SynthesizedApp) -> None:
    # given the published package (image, archive) served with data capture, as prod deploys it
    package = _call(_deployed_run(prod_app, EXECUTION_INPUT, "tune-20261121-101500"), "CreateModelPackage")
    (container,) = package["InferenceSpecification"]["Containers"]
    deployment = Deployment(prod_app.templates, DEPLOYED_BUCKETS)
    config = only_resource(prod_app.template("counting"), "AWS::SageMaker::EndpointConfig")
    stack = stack_outputs.stack_name(prod_app.settings.stage, "counting")
    capture = deployment.resolve(stack, config["Properties"]["DataCaptureConfig"]["DestinationS3Uri"])

    # then loading, pulling, logging and capturing are all allowed to the serving role
    assert_allowed(
        deployment.role_policy("ServingRole/Role"),
        sagemaker_jobs.endpoint(
            endpoint_name=only_resource(prod_app.template("counting"), "AWS::SageMaker::Endpoint")[
                "Properties"
            ]["EndpointName"],
            image=container["Image"],
            model_data_url=container["ModelDataUrl"],
            region=prod_app.settings.region,
            data_capture_uri=capture,
        ),
    )


def test_the_run_finished_rule_can_publish_to_the_encrypted_topic(dev_app: SynthesizedApp) -> None:
    """EventBridge publishes as events.amazonaws.com: only the topic's and its key's policies can allow it."""
    deployment = Deployment(dev_app.templates)
    stack = stack_outputs.stack_name(dev_app.settings.stage, "training")
    topic = deployment.resolve(stack, {"Ref": _logical_id(dev_app, "Notifications/Topic")})
    key = deployment.resolve(stack, {"Fn::GetAtt": [_logical_id(dev_app, "Notifications/Key"), "Arn"]})
    from_the_rule = {"aws:SecureTransport": "true", "aws:SourceAccount": "123456789012"}

    assert_allowed(
        deployment.resource_policies(
            "Service:events.amazonaws.com", "Notifications/Topic", "Notifications/Key"
        ),
        [
            ServiceCall(
                "the RunFinished rule delivering to the training topic (SNS encrypts with the topic's key)",
                (
                    IamRequest("sns:Publish", topic, from_the_rule),
                    IamRequest("kms:GenerateDataKey", key, from_the_rule),
                    IamRequest("kms:Decrypt", key, from_the_rule),
                ),
            )
        ],
    )


def test_another_account_s_rule_cannot_use_the_topic_s_key(dev_app: SynthesizedApp) -> None:
    """EventBridge and CloudWatch decrypt with the key only on this account's behalf (confused deputy)."""
    deployment = Deployment(dev_app.templates)
    stack = stack_outputs.stack_name(dev_app.settings.stage, "training")
    key = deployment.resolve(stack, {"Fn::GetAtt": [_logical_id(dev_app, "Notifications/Key"), "Arn"]})
    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        policy = deployment.resource_policies(
            f"Service:{service}", "Notifications/Topic", "Notifications/Key"
        )
        for context in ({"aws:SecureTransport": "true", "aws:SourceAccount": "210987654321"},):
            call = ServiceCall(
                f"{service} for another account",
                (
                    IamRequest("kms:Decrypt", key, context),
                    IamRequest("kms:GenerateDataKey", key, context),
                ),
            )
            assert len(denials(policy, [call])) == 2, service


def _logical_id(app: SynthesizedApp, path: str) -> str:
    (logical_id,) = [
        key
        for key, resource in app.template("training")["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").endswith(f"/{path}/Resource")
    ]
    return logical_id
