"""`binventory train ...`: start the training state machine, list its runs, read a run's log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from binventory.aws_errors import AwsCommandGroup
from binventory.resources import StackResources
from binventory.training_jobs import execution_input, logs, manifest_runs, runs
from contracts import stack_outputs
from contracts.deployment_settings import Settings, SettingsError, load_settings_from_cdk_json
from contracts.metric_lines import SHOWN_METRICS


@click.group("train", cls=AwsCommandGroup)
def train() -> None:
    """Start training or tuning runs and watch them."""


@train.command("start")
@click.option("--tune", is_flag=True, help="Run a hyperparameter tuning job instead of one training job.")
@click.option(
    "--hp",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe hyperparameter, e.g. --hp epochs=30 (repeatable).",
)
@click.option("--max-jobs", type=click.IntRange(1, 500), help="Tuning budget: training jobs in total.")
@click.option("--max-parallel-jobs", type=click.IntRange(1, 100), help="Tuning: jobs running at once.")
@click.option("--name", help="Execution name; its jobs are named after it [default: train-/tune-<UTC time>].")
@click.option(
    "--manifest",
    metavar="NAME",
    help="Train on the manifest dataset NAME (`binventory data manifest`): images read straight from the "
    "public ABID bucket. Without it, the dataset bucket's train/ and validation/ (`data upload`).",
)
@click.option(
    "--input-mode",
    type=click.Choice(manifest_runs.INPUT_MODES),
    default="FastFile",
    show_default=True,
    help="With --manifest: stream each image from S3 when first read (FastFile), or download all first "
    "(File).",
)
@click.option(
    "--add-manifest",
    "add_manifest",
    metavar="NAME",
    help="With --manifest: also train on the train part of manifest dataset NAME (e.g. `reviews`, written by "
    "`binventory data reviews`); validation and test stay --manifest's. Writes <manifest>-with-<NAME>.",
)
@click.option("--dry-run", is_flag=True, help="Print the state machine input (and the plan); start nothing.")
@click.pass_obj
def start(
    resources: StackResources,
    tune: bool,
    overrides: tuple[str, ...],
    max_jobs: int | None,
    max_parallel_jobs: int | None,
    name: str | None,
    manifest: str | None,
    input_mode: str,
    add_manifest: str | None,
    dry_run: bool,
) -> None:
    """Start the training state machine with the chosen hyperparameters (or tuning ranges and budget)."""
    if not tune and (max_jobs or max_parallel_jobs):
        raise click.UsageError("--max-jobs and --max-parallel-jobs only apply with --tune.")
    if add_manifest and not manifest:
        raise click.UsageError("--add-manifest adds to a manifest dataset: pass --manifest too.")
    if add_manifest and manifest:
        manifest = manifest_runs.combine_manifest_datasets(resources, manifest, add_manifest)
        click.echo(f"combined dataset {manifest}: {add_manifest}'s train images as channel train_added")
    settings = _settings()
    parsed_overrides = execution_input.parse_overrides(overrides)
    document = execution_input.execution_input(
        settings,
        overrides=parsed_overrides,
        tune=tune,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        manifest=None
        if manifest is None
        else {
            "name": manifest_runs.manifest_name(manifest),
            "input_mode": input_mode,
            **({"added_train": True} if add_manifest else {}),
        },
    )
    name = name or execution_input.execution_name(tune, datetime.now(UTC))
    state_machine = resources.output("training", stack_outputs.TRAINING_STATE_MACHINE_ARN)
    if manifest is not None:
        manifest_runs.check_region(state_machine)
        summary = manifest_runs.load_summary(resources, manifest)
        click.echo(manifest_runs.training_plan(summary, settings, parsed_overrides, input_mode=input_mode))
        if tune:
            budget = document["tuning"]
            click.echo(
                f"tuning runs up to {budget['max_jobs']} such jobs, {budget['max_parallel_jobs']} at a time "
                "(tuned values such as a smaller batch change each one's time)."
            )
    if dry_run:
        click.echo(f"dry run: would start {name} on {state_machine} with input:")
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    # Recorded on the published version: whoever approves it must be someone else (`model approve`).
    document["started_by"] = resources.client("sts").get_caller_identity()["Arn"]
    response = resources.client("stepfunctions").start_execution(
        stateMachineArn=state_machine, name=name, input=json.dumps(document)
    )
    click.echo(f"started {name} ({'tuning' if tune else 'training'}): {response['executionArn']}")
    click.echo(f"hyperparameters: {json.dumps(document['hyperparameters'], sort_keys=True)}")
    click.echo(f"follow it with: binventory train logs {name} --follow")


@train.command("plan")
@click.option(
    "--manifest",
    required=True,
    metavar="NAME|DIR",
    help="A manifest dataset: its name in the dataset bucket, or the local folder `data manifest` wrote.",
)
@click.option("--instance-type", help="Training instance [default: cdk.json training.instance_type].")
@click.option(
    "--spot/--on-demand", default=None, help="Managed spot or not [default: cdk.json training.use_spot]."
)
@click.option(
    "--input-mode", type=click.Choice(manifest_runs.INPUT_MODES), default="FastFile", show_default=True
)
@click.option(
    "--hp",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe hyperparameter as `train start` would, e.g. --hp epochs=4 (repeatable).",
)
@click.pass_obj
def plan(
    resources: StackResources,
    manifest: str,
    instance_type: str | None,
    spot: bool | None,
    input_mode: str,
    overrides: tuple[str, ...],
) -> None:
    """Estimate images, hours and dollars of training on a manifest dataset, before spending anything."""
    summary = manifest_runs.load_summary(resources, manifest)
    click.echo(
        manifest_runs.training_plan(
            summary,
            _settings(),
            execution_input.parse_overrides(overrides),
            input_mode=input_mode,
            instance_type=instance_type,
            spot=spot,
        )
    )


@train.command("status")
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many recent runs to show.",
)
@click.pass_obj
def status(resources: StackResources, limit: int) -> None:
    """Show running and recent runs with their job's final metrics and profiler rules' verdicts."""
    state_machine = resources.output("training", stack_outputs.TRAINING_STATE_MACHINE_ARN)
    summaries = runs.recent_runs(
        resources.client("stepfunctions"), resources.client("sagemaker"), state_machine, limit
    )
    if not summaries:
        click.echo("No training runs yet: start one with `binventory train start`.")
        return
    table = Table(
        "run", "kind", "run status", "job status", "started (UTC)", *SHOWN_METRICS, "profiler rules"
    )
    for run in summaries:
        table.add_row(
            run.name,
            "tune" if run.tune else "train",
            run.status,
            run.job_status or "-",
            f"{run.started.astimezone(UTC):%Y-%m-%d %H:%M}",
            *(f"{run.metrics[m]:.4f}" if m in run.metrics else "-" for m in SHOWN_METRICS),
            "\n".join(f"{rule}: {verdict}" for rule, verdict in run.rules.items()) or "-",
        )
    Console(width=200).print(table)
    for run in summaries:
        if run.report:
            click.echo(f"profiler report of {run.name}: {run.report}")


@train.command("logs")
@click.argument("run_name", required=False)
@click.option("--follow", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option(
    "--poll-seconds",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds between polls when following.",
)
@click.option(
    "--max-wait-minutes",
    default=180.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Stop following after this long even if the run is still going.",
)
@click.pass_obj
def logs_command(
    resources: StackResources,
    run_name: str | None,
    follow: bool,
    poll_seconds: float,
    max_wait_minutes: float,
) -> None:
    """Print the log of a run's training job(s) [default: the newest run]."""
    sfn = resources.client("stepfunctions")
    state_machine = resources.output("training", stack_outputs.TRAINING_STATE_MACHINE_ARN)
    run_name = run_name or _newest_run(sfn, state_machine)
    execution_arn = _execution_arn(state_machine, run_name)
    prefix = runs.log_stream_prefix(run_name, runs.is_tuning_run(sfn, execution_arn))
    logs_client = resources.client("logs")
    if not follow:
        if not logs.print_new_events(logs_client, prefix, logs.LogCursor(), click.echo):
            click.echo(
                f"No log lines yet for {prefix}* in {logs.TRAINING_LOG_GROUP} "
                "(a job takes a few minutes to start); try --follow."
            )
        return

    def run_finished() -> bool:
        return sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING"

    finished = logs.follow(
        logs_client,
        prefix,
        run_finished,
        click.echo,
        poll_seconds=poll_seconds,
        max_wait_seconds=max_wait_minutes * 60,
    )
    if not finished:
        click.echo(f"Stopped following after {max_wait_minutes:g} minutes; {run_name} is still running.")


def _settings() -> Settings:
    try:
        return load_settings_from_cdk_json()
    except SettingsError as error:
        raise click.ClickException(f"cdk.json: {error}") from error


def _newest_run(sfn: Any, state_machine: str) -> str:
    executions = sfn.list_executions(stateMachineArn=state_machine, maxResults=1)["executions"]
    if not executions:
        raise click.ClickException("No training runs yet: start one with `binventory train start`.")
    return str(executions[0]["name"])


def _execution_arn(state_machine_arn: str, run_name: str) -> str:
    """Execution ARNs are the state machine's ARN with `execution` in place of `stateMachine`."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{run_name}"
