"""Move the endpoint between model versions blue/green: a new endpoint config, then UpdateEndpoint.

SageMaker keeps the old fleet serving until the new one is healthy, then shifts the traffic and
retires the old fleet, so the endpoint keeps answering throughout; if the new fleet never becomes
healthy it stays on the old config. Each config created here is tagged with the config it replaced:
that chain is the history `model rollback` walks back along.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from botocore.exceptions import ClientError, WaiterError

from binventory.models.registry import PublishedModel

APPROVED = "Approved"
REJECTED = "Rejected"
PREVIOUS_CONFIG_TAG = "binventory:previous-endpoint-config"
MODEL_PACKAGE_TAG = "binventory:model-package-arn"
# Endpoint config settings that carry over unchanged; the production variants are copied too.
_CARRIED_OVER = ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")
_MAX_NAME = 63


class EndpointNotDeployed(Exception):
    """The endpoint name is reserved but the counting stack has not created it (no model yet)."""


@dataclass(frozen=True)
class EndpointState:
    """What the endpoint serves now, and the config the last promotion replaced (if it made this one)."""

    endpoint: str
    status: str
    config: dict[str, Any]
    served_package: str | None  # model package ARN of the served model's container
    environment: dict[str, str]  # that container's environment (serving settings the stack chose)
    previous_config: str | None

    @property
    def config_name(self) -> str:
        return str(self.config["EndpointConfigName"])


def endpoint_state(sagemaker: Any, endpoint: str) -> EndpointState:
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if "Could not find endpoint" in error.response.get("Error", {}).get("Message", ""):
            raise EndpointNotDeployed(endpoint) from error
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    tag_list = sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]
    tags = {tag["Key"]: tag["Value"] for tag in tag_list}
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return EndpointState(
        endpoint=endpoint,
        status=described["EndpointStatus"],
        config=config,
        served_package=container.get("ModelPackageName"),
        environment=dict(container.get("Environment", {})),
        previous_config=tags.get(PREVIOUS_CONFIG_TAG),
    )


def promote(sagemaker: Any, state: EndpointState, model: PublishedModel, role_arn: str, now: datetime) -> str:
    """Create a model and an endpoint config for `model` and point the endpoint at it; returns the config."""
    require_updatable(state)
    name = _resource_name(state.endpoint, f"v{model.version}", now)
    container: dict[str, Any] = {"ModelPackageName": model.arn}
    if state.environment:
        container["Environment"] = state.environment
    # One container is the primary container, as the SageMaker SDK writes it (Containers is for pipelines).
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=role_arn, PrimaryContainer=container)
    variants = copy.deepcopy(state.config["ProductionVariants"])
    for variant in variants:
        variant["ModelName"] = name
    settings = {key: state.config[key] for key in _CARRIED_OVER if state.config.get(key)}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=variants,
        **settings,
        Tags=[
            {"Key": PREVIOUS_CONFIG_TAG, "Value": state.config_name},
            {"Key": MODEL_PACKAGE_TAG, "Value": model.arn},
        ],
    )
    sagemaker.update_endpoint(EndpointName=state.endpoint, EndpointConfigName=name)
    return name


def approve(sagemaker: Any, model: PublishedModel, endpoint: str) -> bool:
    """Mark `model` Approved, which SageMaker requires before it creates a model from a package.

    Returns False when it already was. A Rejected version is refused: rejecting is a reviewer's
    decision, and promoting does not overrule it.
    """
    if model.approval == APPROVED:
        return False
    if model.approval == REJECTED:
        raise click.ClickException(
            f"Refusing to promote version {model.version}: version {model.version} was Rejected in the model "
            "registry. If it should serve after all, approve it deliberately first: `aws sagemaker "
            f"update-model-package --model-package-arn {model.arn} --model-approval-status Approved`."
        )
    sagemaker.update_model_package(
        ModelPackageArn=model.arn,
        ModelApprovalStatus=APPROVED,
        ApprovalDescription=f"promoted to {endpoint} by `binventory model promote`",
    )
    return True


def rollback(sagemaker: Any, state: EndpointState) -> str:
    """Point the endpoint back at the config the current one replaced; returns that config's name."""
    require_updatable(state)
    if state.previous_config is None:
        raise click.ClickException(
            f"Endpoint config {state.config_name} records no earlier config (it was not created by "
            "`model promote`), so there is nothing to roll back to; promote an earlier version instead."
        )
    sagemaker.update_endpoint(EndpointName=state.endpoint, EndpointConfigName=state.previous_config)
    return state.previous_config


def wait_until_serving(sagemaker: Any, endpoint: str, config_name: str) -> None:
    """Block until the update settles, and fail loudly if SageMaker kept (or went back to) another config."""
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig={"Delay": 30, "MaxAttempts": 60}
        )
    except WaiterError as error:
        raise click.ClickException(f"Endpoint {endpoint} did not return to InService: {error}") from error
    serving = sagemaker.describe_endpoint(EndpointName=endpoint)
    if serving["EndpointConfigName"] != config_name:
        reason = serving.get("FailureReason", "no reason given")
        raise click.ClickException(
            f"The update did not take: {endpoint} still serves {serving['EndpointConfigName']} ({reason})."
        )


def require_updatable(state: EndpointState) -> None:
    if state.status != "InService":
        raise click.ClickException(
            f"Endpoint {state.endpoint} is {state.status}; wait until it is InService and try again."
        )


def _resource_name(endpoint: str, label: str, now: datetime) -> str:
    suffix = f"-{label}-{now:%Y%m%d%H%M%S}"
    return endpoint[: _MAX_NAME - len(suffix)] + suffix
