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
from contracts import stack_outputs

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
    # The served model's role (the serving role: reads its model only) and isolation: a promotion keeps both.
    model_role: str
    network_isolation: bool

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
        model_role=model["ExecutionRoleArn"],
        network_isolation=bool(model.get("EnableNetworkIsolation", False)),
    )


def served_package_of(sagemaker: Any, config_name: str) -> str | None:
    """The model package the endpoint config `config_name` serves (None: its model names none)."""
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return container.get("ModelPackageName")


def record_served_package(ssm: Any, stage: str, package_arn: str) -> None:
    """Write the package the endpoint now serves where the counting stack reads it at its next deploy."""
    ssm.put_parameter(
        Name=stack_outputs.served_model_parameter(stage), Value=package_arn, Type="String", Overwrite=True
    )


def promote(sagemaker: Any, state: EndpointState, model: PublishedModel, now: datetime) -> str:
    """Create a model and an endpoint config for `model` and point the endpoint at it; returns the config.

    The new model runs as the served one does: same role (the stack's serving role) and network isolation.
    """
    require_updatable(state)
    name = _resource_name(state.endpoint, f"v{model.version}", now)
    container: dict[str, Any] = {"ModelPackageName": model.arn}
    if state.environment:
        container["Environment"] = state.environment
    # One container is the primary container, as the SageMaker SDK writes it (Containers is for pipelines).
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=state.model_role,
        PrimaryContainer=container,
        EnableNetworkIsolation=state.network_isolation,
    )
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


def require_approved(model: PublishedModel) -> None:
    """SageMaker creates a model only from an Approved package; promoting never approves one itself."""
    if model.approval == APPROVED:
        return
    if model.approval == REJECTED:
        raise click.ClickException(
            f"Refusing to promote version {model.version}: version {model.version} was Rejected in the model "
            "registry. If it should serve after all, a reviewer approves it deliberately first: "
            f"`binventory model approve {model.version}` (docs/approver-policy.json)."
        )
    raise click.ClickException(
        f"Refusing to promote version {model.version}: it is {model.approval}. A reviewer who did not start "
        f"its training run approves it first: `binventory model approve {model.version}` "
        "(docs/approver-policy.json), then promote it."
    )


def approve(sagemaker: Any, model: PublishedModel, approver: str, note: str | None) -> None:
    """Approve `model` as `approver`, who must not be the identity that started its training run."""
    if model.approval == APPROVED:
        raise click.ClickException(f"Version {model.version} is already Approved.")
    if model.started_by is not None and same_identity(model.started_by, approver):
        raise click.ClickException(
            f"Refusing to approve version {model.version}: you ({approver}) started its training run. A "
            "manual approval is a second person's check; ask a reviewer holding docs/approver-policy.json "
            "to run "
            f"`binventory model approve {model.version}`."
        )
    description = f"approved by {approver} with `binventory model approve`" + (f": {note}" if note else "")
    sagemaker.update_model_package(
        ModelPackageArn=model.arn, ModelApprovalStatus=APPROVED, ApprovalDescription=description[:1024]
    )


def same_identity(first: str, second: str) -> bool:
    """Whether two caller ARNs are one person: an assumed role's session counts, not just the role."""
    return _principal(first) == _principal(second)


def _principal(arn: str) -> str:
    # arn:aws:sts::123:assumed-role/Role/session and arn:aws:iam::123:user/name -> the part after the account
    return arn.split(":", 5)[-1].lower()


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
