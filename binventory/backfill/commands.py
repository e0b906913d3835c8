"""`binventory count backfill`: reconcile every bin image under an S3 prefix with one Batch Transform job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from binventory.aws_errors import AwsCommandGroup
from binventory.backfill import inputs, recording, transform
from binventory.models.deployment import served_package_of
from binventory.resources import StackResources
from contracts import stack_outputs
from contracts.deployment_settings import SettingsError, load_settings_from_cdk_json
from lambdas.counter.api import CounterConfiguration


@click.group("count", cls=AwsCommandGroup)
def count() -> None:
    """Count bin images in bulk."""


@count.command("backfill")
@click.argument("uri")
@click.option(
    "--model",
    "model_name",
    help="SageMaker model to run [default: the package the endpoint serves, as a model of its own that runs "
    "with the transform role].",
)
@click.option(
    "--instance-type", help="Transform instance type [default: cdk.json endpoint.transform_instance_type]."
)
@click.option(
    "--instance-count", default=1, show_default=True, type=click.IntRange(1, 100), help="Transform instances."
)
@click.option(
    "--events/--no-events",
    default=True,
    show_default=True,
    help="Announce MISMATCH and LOW_CONFIDENCE records on the event bus, as the Lambda does.",
)
@click.option(
    "--max-wait-minutes",
    default=240.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="How long to wait for the transform job.",
)
@click.option(
    "--workers",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Images recorded concurrently.",
)
@click.pass_obj
def backfill(
    resources: StackResources,
    uri: str,
    model_name: str | None,
    instance_type: str | None,
    instance_count: int,
    events: bool,
    max_wait_minutes: float,
    workers: int,
) -> None:
    """Reconcile the images under s3://BUCKET/PREFIX (incoming/<bin>/..., bin-images/<id>.jpg) in bulk.

    One Batch Transform job counts them all; each answer then goes through the counting Lambda's own
    code into the inventory table. Images already recorded (by the Lambda or an earlier backfill) are
    skipped, so the command can be re-run.
    """
    location = inputs.S3Location.parse(uri)
    try:
        cdk = load_settings_from_cdk_json()
    except SettingsError as error:
        raise click.ClickException(f"cdk.json: {error}") from error
    configuration = CounterConfiguration(
        inventory_table=resources.inventory_table,
        bin_state_table=resources.bin_state_table,
        endpoint_name=resources.output("counting", stack_outputs.ENDPOINT_NAME),
        event_bus_name=resources.output("counting", stack_outputs.EVENT_BUS_NAME),
        decision=cdk.counting.decision,
        max_image_bytes=cdk.counting.max_image_bytes,
    )
    s3, sagemaker = resources.client("s3"), resources.client("sagemaker")
    images, skipped = inputs.list_bin_images(s3, location)
    if not images:
        raise click.ClickException(
            f"No bin images under {uri} (keys must look like incoming/<bin>/<file> or bin-images/<id>.jpg); "
            f"{skipped} other objects were left out."
        )
    to_transform = inputs.images_to_transform(s3, images, configuration.max_image_bytes, workers)
    job_name = transform.job_name(datetime.now(UTC))
    created_model = None
    if model_name is None and to_transform:
        # The endpoint's model runs with the serving role, which reads model archives only; the job gets a
        # model of the same package with the transform role (its photos in, its answers out).
        created_model = transform.create_model(
            sagemaker,
            job_name,
            package_arn=_served_package(sagemaker, configuration.endpoint_name),
            role_arn=resources.output("training", stack_outputs.TRANSFORM_ROLE_ARN),
        )
    plan = transform.TransformPlan(
        job_name=job_name,
        artifacts_bucket=resources.output("storage", stack_outputs.ARTIFACTS_BUCKET_NAME),
        model_name=model_name or created_model or job_name,
        instance_type=instance_type or cdk.endpoint.transform_instance_type,
        instance_count=instance_count,
        max_payload_mb=transform.payload_limit_mb(configuration.max_image_bytes),
        stage=resources.stage,
    )
    click.echo(
        f"{len(images)} bin images ({skipped} other objects left out), {len(to_transform)} sent to "
        f"transform job {plan.job_name} on {plan.instance_count} x {plan.instance_type} "
        f"with model {plan.model_name}"
    )
    answers: dict[str, bytes] = {}
    if to_transform:
        transform.start_job(s3, sagemaker, plan, location, to_transform)
        failure = transform.wait_for_job(sagemaker, plan.job_name, max_wait_minutes)
        if failure:
            click.echo(
                f"warning: transform job {plan.job_name} {failure}; recording the answers it wrote.", err=True
            )
        answers = transform.read_outputs(s3, plan, location, to_transform)
    if created_model is not None:
        sagemaker.delete_model(ModelName=created_model)

    recorder = recording.Recorder.from_clients(resources.client, configuration, publish_events=events)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
    ) as progress:
        task = progress.add_task("recording", total=len(images))
        report = recording.record_all(recorder, images, answers, workers, lambda: progress.advance(task))
    written = ", ".join(f"{status} {n}" for status, n in sorted(report.statuses.items())) or "none"
    click.echo(
        f"recorded: {written}; already recorded before: {report.already_recorded}; "
        f"not recorded: {len(report.failed)}"
    )
    for key, reason in sorted(report.failed.items()):
        click.echo(f"not recorded: {key}: {reason}")
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} images were not recorded (see above); re-run the backfill to retry them."
        )


def _served_package(sagemaker: Any, endpoint: str) -> str:
    """The model package behind the endpoint: what the Lambda's counts come from."""
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    package = served_package_of(sagemaker, described["EndpointConfigName"])
    if package is None:
        raise click.ClickException(
            f"The model endpoint {endpoint} serves names no model package; pass --model with a SageMaker "
            "model that may read the photos and write under transform/."
        )
    return package
