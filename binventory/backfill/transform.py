"""Run one SageMaker Batch Transform job over many bin images and collect its per-image answers.

The job reads a manifest (only the images worth sending, so one stray text file cannot fail the
whole job) and writes `<output>/<path relative to the manifest prefix>.out`, one prediction JSON
per image, under the artifacts bucket's transform/ prefix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from botocore.exceptions import WaiterError

from binventory.backfill.inputs import BinImage, S3Location
from contracts.stack_outputs import ARTIFACTS_TRANSFORM_PREFIX, STAGE_TAG

OUTPUT_SUFFIX = ".out"


@dataclass(frozen=True)
class TransformPlan:
    job_name: str
    artifacts_bucket: str
    model_name: str
    instance_type: str
    instance_count: int
    max_payload_mb: int
    stage: str

    @property
    def manifest_key(self) -> str:
        return f"{ARTIFACTS_TRANSFORM_PREFIX}{self.job_name}/input.manifest"

    @property
    def output_prefix(self) -> str:
        return f"{ARTIFACTS_TRANSFORM_PREFIX}{self.job_name}/output/"


def job_name(now: datetime) -> str:
    return f"backfill-{now:%Y%m%d-%H%M%S}"


def payload_limit_mb(max_image_bytes: int) -> int:
    return max(1, math.ceil(max_image_bytes / 1_000_000))


def create_model(sagemaker: Any, name: str, *, package_arn: str, role_arn: str) -> str:
    """A model of `package_arn` running as `role_arn`, network-isolated as the endpoint's is; its name."""
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"ModelPackageName": package_arn},
        EnableNetworkIsolation=True,
    )
    return name


def start_job(
    s3: Any, sagemaker: Any, plan: TransformPlan, location: S3Location, images: Sequence[BinImage]
) -> None:
    """Write the manifest of `images` and create the transform job reading it."""
    root = location.folder
    manifest = [{"prefix": f"s3://{location.bucket}/{root}"}, *(i.upload.key[len(root) :] for i in images)]
    s3.put_object(
        Bucket=plan.artifacts_bucket,
        Key=plan.manifest_key,
        Body=json.dumps(manifest).encode(),
        ContentType="application/json",
    )
    sagemaker.create_transform_job(
        TransformJobName=plan.job_name,
        ModelName=plan.model_name,
        BatchStrategy="SingleRecord",
        MaxPayloadInMB=plan.max_payload_mb,
        TransformInput={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "ManifestFile",
                    "S3Uri": f"s3://{plan.artifacts_bucket}/{plan.manifest_key}",
                }
            },
            "ContentType": "application/x-image",
            "SplitType": "None",
            "CompressionType": "None",
        },
        TransformOutput={
            "S3OutputPath": f"s3://{plan.artifacts_bucket}/{plan.output_prefix}",
            "Accept": "application/json",
            "AssembleWith": "None",
        },
        TransformResources={"InstanceType": plan.instance_type, "InstanceCount": plan.instance_count},
        # `binventory costs` counts a running job only when it carries its stage's tag.
        Tags=[{"Key": STAGE_TAG, "Value": plan.stage}],
    )


def wait_for_job(sagemaker: Any, name: str, max_wait_minutes: float) -> str | None:
    """Block until the job ends; returns its failure reason, or None when it completed."""
    attempts = max(1, math.ceil(max_wait_minutes * 60 / 30))
    try:
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig={"Delay": 30, "MaxAttempts": attempts}
        )
    except WaiterError as error:
        if "Max attempts exceeded" in str(error):
            raise click.ClickException(
                f"Transform job {name} is still running after {max_wait_minutes:g} minutes; it keeps going. "
                "Re-run the backfill later: images already recorded are skipped."
            ) from error
    job = sagemaker.describe_transform_job(TransformJobName=name)
    if job["TransformJobStatus"] == "Completed":
        return None
    return f"{job['TransformJobStatus']}: {job.get('FailureReason', 'no reason given')}"


def read_outputs(
    s3: Any, plan: TransformPlan, location: S3Location, images: Sequence[BinImage]
) -> dict[str, bytes]:
    """Input key -> the model's answer (raw JSON bytes), for every image the job wrote an answer for."""
    root = location.folder
    by_relative = {image.upload.key[len(root) :]: image.upload.key for image in images}
    answers: dict[str, bytes] = {}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=plan.artifacts_bucket, Prefix=plan.output_prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith(OUTPUT_SUFFIX):
                continue
            relative = item["Key"][len(plan.output_prefix) : -len(OUTPUT_SUFFIX)]
            key = by_relative.get(relative) or _unique_suffix_match(relative, by_relative)
            if key is not None:
                answers[key] = s3.get_object(Bucket=plan.artifacts_bucket, Key=item["Key"])["Body"].read()
    return answers


def _unique_suffix_match(relative: str, by_relative: dict[str, str]) -> str | None:
    """The input whose relative path ends with `relative`, when exactly one does."""
    matches = [key for rel, key in by_relative.items() if rel.endswith("/" + relative)]
    return matches[0] if len(matches) == 1 else None
