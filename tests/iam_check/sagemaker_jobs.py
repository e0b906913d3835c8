"""What SageMaker does with the execution role, derived from the requests that start its work.

No botocore call of ours does these: SageMaker makes them with the role it was passed (the SageMaker
Developer Guide, "How to use SageMaker AI execution roles": the CreateTrainingJob, CreateModel and
CreateTransformJob permission lists), and so does code inside the containers (the training toolkit
downloading `sagemaker_submit_directory`). The endpoint's container runs network-isolated and fetches nothing.
Each function turns one request, as the state machine or the CLI sends it, into those calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from iam_check.check import ServiceCall
from iam_check.requests import ACCOUNT, IamRequest, s3_bucket, s3_object

_TRANSPORT = {"aws:SecureTransport": "true"}
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)
# A file name SageMaker or the training script writes; only the prefixes matter to the policies.
_SAMPLE = "00001.jpg"


def training_job(request: Mapping[str, Any], *, region: str, account: str = ACCOUNT) -> list[ServiceCall]:
    """A CreateTrainingJob request (or a tuning job's definition with its trial's name)."""
    job = request["TrainingJobName"]
    calls = [
        *_image_pull(request["AlgorithmSpecification"]["TrainingImage"], f"training job {job}"),
        *_logs_and_metrics("TrainingJobs", job, region, account),
    ]
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        bucket, prefix = split_s3_uri(source["S3Uri"])
        calls.append(
            _s3(
                f"training job {job} downloading channel {channel['ChannelName']!r} ({source['S3Uri']})",
                ("s3:ListBucket", s3_bucket(bucket), {"s3:prefix": prefix}),
                ("s3:GetObject", s3_object(bucket, prefix + _SAMPLE), {}),
            )
        )
    source_dir = request.get("HyperParameters", {}).get("sagemaker_submit_directory")
    if source_dir:
        bucket, key = split_s3_uri(source_dir)
        calls.append(
            _s3(
                f"the training toolkit in job {job} downloading its source ({source_dir})",
                ("s3:GetObject", s3_object(bucket, key), {}),
            )
        )
    bucket, prefix = split_s3_uri(request["OutputDataConfig"]["S3OutputPath"])
    calls.append(
        _s3(
            f"training job {job} uploading its model and output",
            *(
                ("s3:PutObject", s3_object(bucket, f"{prefix.rstrip('/')}/{job}/output/{name}"), {})
                for name in ("model.tar.gz", "output.tar.gz")
            ),
        )
    )
    profiler = request.get("ProfilerConfig", {}).get("S3OutputPath")
    if profiler:
        bucket, prefix = split_s3_uri(profiler)
        profile = (
            f"{prefix.rstrip('/')}/{job}/profiler-output/system/incremental/2026112110/1732183500.algo-1.json"
        )
        calls.append(
            _s3(
                f"training job {job} writing its system profile",
                ("s3:PutObject", s3_object(bucket, profile), {}),
            )
        )
        for rule in request.get("ProfilerRuleConfigurations", []):
            name = rule["RuleConfigurationName"]
            rule_job = f"{job[:40]}-{name[:10]}-1a2b3c4d"
            report = f"{prefix.rstrip('/')}/{job}/rule-output/{name}/profiler-output/profiler-report.html"
            calls += [
                *_image_pull(rule["RuleEvaluatorImage"], f"profiler rule {name} of job {job}"),
                *_logs_and_metrics("ProcessingJobs", rule_job, region, account),
                _s3(
                    f"profiler rule {name} of job {job} reading the profile and writing its verdict",
                    (
                        "s3:ListBucket",
                        s3_bucket(bucket),
                        {"s3:prefix": f"{prefix.rstrip('/')}/{job}/profiler-output/"},
                    ),
                    ("s3:GetObject", s3_object(bucket, profile), {}),
                    ("s3:PutObject", s3_object(bucket, report), {}),
                ),
            ]
    checkpoint = request.get("CheckpointConfig", {}).get("S3Uri")
    if checkpoint:
        bucket, prefix = split_s3_uri(checkpoint)
        calls.append(
            _s3(
                f"training job {job} syncing spot checkpoints with {checkpoint}",
                ("s3:ListBucket", s3_bucket(bucket), {"s3:prefix": prefix}),
                ("s3:GetObject", s3_object(bucket, f"{prefix}/checkpoint.pt"), {}),
                ("s3:PutObject", s3_object(bucket, f"{prefix}/checkpoint.pt"), {}),
            )
        )
    return calls


def tuning_trials(request: Mapping[str, Any], *, region: str, account: str = ACCOUNT) -> list[ServiceCall]:
    """A CreateHyperParameterTuningJob request: its trials run the definition under generated names."""
    trial = f"{request['HyperParameterTuningJobName']}-001-1a2b3c4d"
    definition = request["TrainingJobDefinition"]
    as_job = {**definition, "TrainingJobName": trial, "HyperParameters": definition["StaticHyperParameters"]}
    return training_job(as_job, region=region, account=account)


def endpoint(
    *,
    endpoint_name: str,
    image: str,
    model_data_url: str,
    region: str,
    data_capture_uri: str | None = None,
    account: str = ACCOUNT,
) -> list[ServiceCall]:
    """An endpoint serving a model: image pull, model archive, logs, data capture."""
    bucket, key = split_s3_uri(model_data_url)
    calls = [
        *_image_pull(image, f"endpoint {endpoint_name}"),
        _s3(
            f"endpoint {endpoint_name} loading {model_data_url}", ("s3:GetObject", s3_object(bucket, key), {})
        ),
        *_logs_and_metrics("Endpoints", endpoint_name, region, account),
    ]
    if data_capture_uri:
        bucket, prefix = split_s3_uri(data_capture_uri)
        captured = f"{prefix.rstrip('/')}/{endpoint_name}/AllTraffic/2026/11/21/10/capture.jsonl"
        calls.append(
            _s3(
                f"endpoint {endpoint_name} capturing requests",
                ("s3:PutObject", s3_object(bucket, captured), {}),
            )
        )
    return calls


def transform_job(
    request: Mapping[str, Any], *, manifest: Sequence[Any], region: str, account: str = ACCOUNT
) -> list[ServiceCall]:
    """A CreateTransformJob request reading a manifest (`[{"prefix": ...}, relative keys...]`).

    The model's own image pull and archive are those of the endpoint serving it (`endpoint`).
    """
    job = request["TransformJobName"]
    bucket, key = split_s3_uri(request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
    input_bucket, input_prefix = split_s3_uri(manifest[0]["prefix"])
    output_bucket, output_prefix = split_s3_uri(request["TransformOutput"]["S3OutputPath"])
    return [
        *_logs_and_metrics("TransformJobs", job, region, account),
        _s3(
            f"transform job {job} reading its manifest and the images it lists",
            ("s3:ListBucket", s3_bucket(bucket), {"s3:prefix": key}),
            ("s3:GetObject", s3_object(bucket, key), {}),
            *(("s3:GetObject", s3_object(input_bucket, input_prefix + entry), {}) for entry in manifest[1:]),
        ),
        _s3(
            f"transform job {job} writing its answers",
            *(
                ("s3:PutObject", s3_object(output_bucket, f"{output_prefix}{entry}.out"), {})
                for entry in manifest[1:]
            ),
        ),
    ]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> (`bucket`, `a/b`)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _image_pull(image: str, who: str) -> list[ServiceCall]:
    match = _ECR_URI.match(image)
    if match is None:
        raise ValueError(f"{who}: not an ECR image URI: {image}")
    repository = f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"
    return [
        ServiceCall(
            f"{who} pulling {image}",
            (
                IamRequest("ecr:GetAuthorizationToken", "*", _TRANSPORT),
                *(
                    IamRequest(f"ecr:{action}", repository, _TRANSPORT)
                    for action in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage")
                ),
            ),
        )
    ]


def _logs_and_metrics(kind: str, name: str, region: str, account: str) -> list[ServiceCall]:
    group = f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/{kind}"
    stream = f"{group}:log-stream:{name}/algo-1-1732183500"
    return [
        ServiceCall(
            f"{kind[:-1]} {name} writing its logs",
            (
                IamRequest("logs:CreateLogGroup", group, _TRANSPORT),
                IamRequest("logs:DescribeLogStreams", f"{group}:*", _TRANSPORT),
                IamRequest("logs:CreateLogStream", stream, _TRANSPORT),
                IamRequest("logs:PutLogEvents", stream, _TRANSPORT),
            ),
        ),
        ServiceCall(
            f"{kind[:-1]} {name} publishing its metrics",
            (
                IamRequest(
                    "cloudwatch:PutMetricData",
                    "*",
                    {**_TRANSPORT, "cloudwatch:namespace": f"/aws/sagemaker/{kind}"},
                ),
            ),
        ),
    ]


def _s3(description: str, *grants: tuple[str, str, dict[str, str]]) -> ServiceCall:
    return ServiceCall(
        description,
        tuple(
            IamRequest(action, resource, {**_TRANSPORT, **context}) for action, resource, context in grants
        ),
    )
