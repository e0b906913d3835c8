"""`binventory model ...`: list published models, promote one behind the endpoint, roll back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from binventory.aws_errors import AwsCommandGroup
from binventory.models import deployment, gate, registry
from binventory.resources import StackResources
from contracts import stack_outputs
from contracts.metric_lines import SHOWN_METRICS


@click.group("model", cls=AwsCommandGroup)
def model() -> None:
    """List published models and move the endpoint between them."""


@model.command("list")
@click.pass_obj
def list_models(resources: StackResources) -> None:
    """Show every published model version with its metrics; `*` marks the one the endpoint serves."""
    sagemaker = resources.client("sagemaker")
    group = resources.output("training", stack_outputs.MODEL_PACKAGE_GROUP_NAME)
    models = registry.published_models(sagemaker, group)
    if not models:
        click.echo(f"No models published in {group} yet: run `binventory train start`.")
        return
    try:
        serving: str | None = _endpoint_state(resources, sagemaker).served_package
        endpoint_note = f"The endpoint serves none of these versions ({serving or 'no model package'})."
    except click.ClickException as error:
        serving, endpoint_note = None, error.message
    table = Table("", "version", "approval", "created (UTC)", *SHOWN_METRICS)
    for published in models:
        table.add_row(
            "*" if published.arn == serving else "",
            str(published.version),
            published.approval,
            f"{published.created.astimezone(UTC):%Y-%m-%d %H:%M}",
            *(f"{published.metrics[m]:.4f}" if m in published.metrics else "-" for m in SHOWN_METRICS),
        )
    Console(width=160).print(table)
    click.echo(f"package ARN of version N: {models[0].arn.rsplit('/', 1)[0]}/N")
    if serving not in {published.arn for published in models}:
        click.echo(endpoint_note)


@model.command("promote")
@click.argument("version", type=click.IntRange(min=1))
@click.option(
    "--min-accuracy",
    envvar="BINVENTORY_MIN_ACCURACY",
    default=gate.DEFAULT_MIN_ACCURACY,
    show_default=True,
    type=click.FloatRange(0, 1),
    help=f"Refuse a model whose {gate.ACCURACY} is below this.",
)
@click.option(
    "--max-rmse",
    envvar="BINVENTORY_MAX_RMSE",
    type=click.FloatRange(min=0),
    help=f"Also refuse a model whose {gate.RMSE} is above this.",
)
@click.option("--force", is_flag=True, help="Promote even when the model fails the metric gate.")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the endpoint serves the new model (usually 5-10 minutes).",
)
@click.pass_obj
def promote(
    resources: StackResources,
    version: int,
    min_accuracy: float,
    max_rmse: float | None,
    force: bool,
    wait: bool,
) -> None:
    """Put model VERSION behind the endpoint with no downtime (blue/green through a new endpoint config).

    Only an Approved version is promoted (SageMaker deploys only Approved packages): one pending manual
    approval is approved first by a reviewer with `model approve`. The package it serves is recorded, so
    `npx cdk deploy` keeps serving it.
    """
    sagemaker = resources.client("sagemaker")
    group = resources.output("training", stack_outputs.MODEL_PACKAGE_GROUP_NAME)
    chosen = registry.find_version(registry.published_models(sagemaker, group), version)
    metric_gate = gate.MetricGate(min_accuracy=min_accuracy, max_rmse=max_rmse)
    failures = gate.gate_failures(chosen.metrics, metric_gate)
    if failures and not force:
        raise click.ClickException(
            f"Refusing to promote version {version}: "
            + "; ".join(failures)
            + ". Pass --force to promote it anyway, or change the gate (--min-accuracy, --max-rmse)."
        )
    for failure in failures:
        click.echo(f"warning: promoting despite the gate (--force): {failure}", err=True)
    state = _endpoint_state(resources, sagemaker, chosen.arn)
    endpoint = state.endpoint
    if state.served_package == chosen.arn:
        click.echo(f"{endpoint} already serves version {version} ({state.config_name}).")
        return
    deployment.require_updatable(state)
    deployment.require_approved(chosen)
    config = deployment.promote(sagemaker, state, chosen, datetime.now(UTC))
    click.echo(f"updating {endpoint}: {state.config_name} -> {config} (model version {version})")
    deployment.record_served_package(resources.client("ssm"), resources.stage, chosen.arn)
    click.echo(
        f"recorded version {version} in {stack_outputs.served_model_parameter(resources.stage)}: "
        "`npx cdk deploy` keeps serving it"
    )
    if wait:
        deployment.wait_until_serving(sagemaker, endpoint, config)
        click.echo(f"{endpoint} now serves version {version}.")


@model.command("approve")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--note", help="Why it is approved (kept in the package's approval description).")
@click.pass_obj
def approve(resources: StackResources, version: int, note: str | None) -> None:
    """Approve model VERSION (PendingManualApproval or Rejected), as a reviewer who did not start its run.

    Needs docs/approver-policy.json, which operators do not hold: the one who trains is not the one who
    approves.
    """
    sagemaker = resources.client("sagemaker")
    group = resources.output("training", stack_outputs.MODEL_PACKAGE_GROUP_NAME)
    chosen = registry.find_version(registry.published_models(sagemaker, group), version)
    approver = resources.client("sts").get_caller_identity()["Arn"]
    deployment.approve(sagemaker, chosen, approver, note)
    click.echo(f"version {version}: {chosen.approval} -> {deployment.APPROVED} (by {approver})")


@model.command("rollback")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the endpoint serves the previous config again.",
)
@click.pass_obj
def rollback(resources: StackResources, wait: bool) -> None:
    """Point the endpoint back at the config the last promotion replaced."""
    sagemaker = resources.client("sagemaker")
    state = _endpoint_state(resources, sagemaker)
    previous = deployment.rollback(sagemaker, state)
    click.echo(f"rolling {state.endpoint} back: {state.config_name} -> {previous}")
    package = deployment.served_package_of(sagemaker, previous)
    if package is None:
        click.echo(f"warning: {previous} names no model package; the recorded package is unchanged", err=True)
    else:
        deployment.record_served_package(resources.client("ssm"), resources.stage, package)
        click.echo(f"recorded {package} in {stack_outputs.served_model_parameter(resources.stage)}")
    if wait:
        deployment.wait_until_serving(sagemaker, state.endpoint, previous)
        click.echo(f"{state.endpoint} serves {previous} again.")


def _endpoint_state(
    resources: StackResources, sagemaker: Any, package_arn: str = "<ModelPackageArn>"
) -> deployment.EndpointState:
    endpoint = resources.output("counting", stack_outputs.ENDPOINT_NAME)
    try:
        return deployment.endpoint_state(sagemaker, endpoint)
    except deployment.EndpointNotDeployed as error:
        raise click.ClickException(
            f"Endpoint {endpoint} is not deployed yet: the counting stack creates it once it has a model. "
            f"Run `npx cdk deploy {resources.stack_name('counting')} -c model_package_arn={package_arn}`."
        ) from error
