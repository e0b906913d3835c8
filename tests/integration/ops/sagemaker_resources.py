"""SageMaker resources the operator commands find in moto: a serving endpoint, a training job."""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from contracts import stack_outputs

ROLE_ARN = "arn:aws:iam::123456789012:role/sm"
INFERENCE_IMAGE = "pytorch-inference:2.6"


def create_endpoint(
    sagemaker: Any,
    endpoint: str,
    variant: dict[str, Any],
    *,
    model: str = "served-model",
    config: str = "config",
    container: dict[str, Any] | None = None,
    role_arn: str = ROLE_ARN,
) -> None:
    """A model, an endpoint config with one `AllTraffic` variant (instances or serverless), the endpoint."""
    sagemaker.create_model(
        ModelName=model,
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"Image": INFERENCE_IMAGE, **(container or {})},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model, **variant}],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)


def create_training_job(sagemaker: Any, name: str, output_path: str, stage: str | None = "dev") -> Any:
    """A one-instance ml.g5.xlarge job tagged as `stage`'s (None: another project's, untagged); returns moto's
    record of it, to set what moto does not."""
    tags = [] if stage is None else [{"Key": stack_outputs.STAGE_TAG, "Value": stage}]
    sagemaker.create_training_job(
        Tags=tags,
        TrainingJobName=name,
        RoleArn=ROLE_ARN,
        AlgorithmSpecification={"TrainingImage": "image", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": output_path},
        ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][sagemaker.meta.region_name].training_jobs[name]
