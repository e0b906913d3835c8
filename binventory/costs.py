"""`binventory costs`: the instances running now (endpoint, training, transform) and their hourly cost.

Prices are a small table in this module, not a live lookup: on-demand US East (N. Virginia) prices
transcribed from https://aws.amazon.com/sagemaker/pricing/ in June 2024 and not re-checked since.
Other regions, spot training (usually much cheaper) and savings plans differ; treat the figures as
an order of magnitude and check the page before a budget decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import click
from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

from binventory import cost_model
from binventory.aws_errors import AwsCommand
from binventory.resources import StackResources
from contracts import stack_outputs
from contracts.deployment_settings import SettingsError, load_settings_from_cdk_json

PRICES_AS_OF = "2024-06"
# Approximate on-demand us-east-1 list prices, written down without live access to the pricing page; two
# were cross-checked against a third-party write-up dated October 2025 (zircon.tech: ml.g5.xlarge about
# $1.41/h, ml.m5.xlarge hosting $0.269/h, above the table's 0.23). Treat the totals as estimates and confirm
# at the source before budgeting.
PRICE_SOURCE = "https://aws.amazon.com/sagemaker/pricing/ (on-demand, us-east-1; approximate, verify there)"
# USD per instance-hour: real-time inference (batch transform is billed at the same rates).
HOSTING_HOURLY_USD = {
    "ml.t2.medium": 0.056,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.g4dn.xlarge": 0.736,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
}
# USD per instance-hour: training jobs (on-demand; managed spot bills less).
TRAINING_HOURLY_USD = {
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.g4dn.xlarge": 0.736,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
    "ml.p3.2xlarge": 3.825,
}
# Serverless inference: USD per second of compute for each GB of memory configured.
SERVERLESS_USD_PER_GB_SECOND = 0.00002
# Managed spot training, as a share of the on-demand price: an assumed range, not a quote (2026-11). AWS says
# spot saves "up to 90%" (SageMaker developer guide, "Managed Spot Training"); spot prices move with demand,
# so `train plan` shows 30-70% of on-demand. The job's BillableTimeInSeconds and the console's savings
# figure give the real cost afterwards.
SPOT_FRACTION_OF_ON_DEMAND = (0.3, 0.7)
# `count backfill` names its transform jobs so (binventory/backfill/transform.py); the operator policy may
# describe only those.
BACKFILL_PREFIX = "backfill-"


@dataclass(frozen=True)
class RunningCost:
    """One thing that costs money while it runs, and its hourly estimate (None: not in the table)."""

    what: str
    capacity: str
    usd_per_hour: float | None
    note: str = ""


def instance_cost(
    what: str, instance_type: str, count: int, prices: dict[str, float], note: str = ""
) -> RunningCost:
    price = prices.get(instance_type)
    return RunningCost(what, f"{count} x {instance_type}", None if price is None else price * count, note)


def endpoint_costs(sagemaker: Any, endpoint: str) -> list[RunningCost]:
    """Each variant of the endpoint: instances cost by the hour, serverless only while it computes."""
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    current = {v["VariantName"]: v for v in described.get("ProductionVariants", [])}
    costs = []
    for variant in config["ProductionVariants"]:
        what = f"endpoint {endpoint} ({variant['VariantName']}, {described['EndpointStatus']})"
        serverless = variant.get("ServerlessConfig")
        if serverless:
            memory_gb = serverless["MemorySizeInMB"] / 1024
            busy_hour = SERVERLESS_USD_PER_GB_SECOND * memory_gb * 3600
            capacity = (
                f"serverless {serverless['MemorySizeInMB']} MB, up to {serverless['MaxConcurrency']} at once"
            )
            note = (
                f"idle costs nothing; ${busy_hour:.3f} per hour of one request computing "
                f"(at most ${busy_hour * serverless['MaxConcurrency']:.2f}/h), plus data processed"
            )
            costs.append(RunningCost(what, capacity, 0.0, note))
            continue
        count = current.get(variant["VariantName"], {}).get(
            "CurrentInstanceCount", variant.get("InitialInstanceCount", 1)
        )
        costs.append(instance_cost(what, variant["InstanceType"], int(count), HOSTING_HOURLY_USD))
    return costs


def training_costs(sagemaker: Any, stage: str) -> list[RunningCost]:
    """This stage's training jobs and tuning trials in progress (not other projects', not ours to bill)."""
    costs = []
    for summary in _in_progress(sagemaker.list_training_jobs, "TrainingJobSummaries"):
        if not _of_stage(sagemaker, summary["TrainingJobArn"], stage):
            continue
        job = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        resources = job["ResourceConfig"]
        note = "managed spot: billed less than this" if job.get("EnableManagedSpotTraining") else ""
        costs.append(
            instance_cost(
                f"training job {job['TrainingJobName']}",
                resources["InstanceType"],
                int(resources["InstanceCount"]),
                TRAINING_HOURLY_USD,
                note,
            )
        )
    return costs


def transform_costs(sagemaker: Any, stage: str) -> list[RunningCost]:
    """This stage's backfill transform jobs in progress; only those are ours to describe (and to bill)."""
    costs = []
    jobs = _in_progress(sagemaker.list_transform_jobs, "TransformJobSummaries", name_contains=BACKFILL_PREFIX)
    for summary in jobs:
        if not summary["TransformJobName"].startswith(BACKFILL_PREFIX):
            continue
        if not _of_stage(sagemaker, summary["TransformJobArn"], stage):
            continue
        job = sagemaker.describe_transform_job(TransformJobName=summary["TransformJobName"])
        resources = job["TransformResources"]
        costs.append(
            instance_cost(
                f"transform job {job['TransformJobName']}",
                resources["InstanceType"],
                int(resources["InstanceCount"]),
                HOSTING_HOURLY_USD,
            )
        )
    return costs


def _of_stage(sagemaker: Any, arn: str, stage: str) -> bool:
    """Whether the job carries this stage's tag (every job the stage starts is tagged with it)."""
    tags = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    return {"Key": stack_outputs.STAGE_TAG, "Value": stage} in tags


def _in_progress(
    list_call: Any, summaries_key: str, name_contains: str | None = None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StatusEquals": "InProgress", "MaxResults": 100}
    if name_contains:
        request["NameContains"] = name_contains
    while True:
        response = list_call(**request)
        found += response.get(summaries_key, [])
        if not response.get("NextToken"):
            return found
        request["NextToken"] = response["NextToken"]


@click.command("costs", cls=AwsCommand)
@click.option(
    "--per-million",
    is_flag=True,
    help="Instead: what counting 1,000,000 photos costs per service, serverless against real-time, and the "
    "monthly volume above which a real-time endpoint is cheaper (offline, from the measured figures).",
)
@click.option(
    "--handler-ms",
    type=click.FloatRange(min=0),
    default=cost_model.MEASURED.handler_ms_per_record,
    show_default=True,
    help="With --per-million: the Lambda's own ms per record (bench/bench_costs.py measures it).",
)
@click.option(
    "--model-ms",
    type=click.FloatRange(min=0.1),
    default=cost_model.MEASURED.model_ms_per_image,
    show_default=True,
    help="With --per-million: the model's ms per photo at the endpoint's size (bench/bench_costs.py).",
)
@click.option(
    "--flag-rate",
    type=click.FloatRange(0, 1),
    default=cost_model.MEASURED.flag_rate,
    show_default=True,
    help="With --per-million: the share of photos flagged (`binventory status` shows yours).",
)
@click.pass_obj
def costs(
    resources: StackResources, per_million: bool, handler_ms: float, model_ms: float, flag_rate: float
) -> None:
    """Show the instances running now (endpoint, training, transform) and their estimated hourly cost."""
    if per_million:
        measured = replace(
            cost_model.MEASURED,
            handler_ms_per_record=handler_ms,
            model_ms_per_image=model_ms,
            flag_rate=flag_rate,
        )
        click.echo(per_million_report(measured, _deployment()))
        return
    sagemaker = resources.client("sagemaker")
    running: list[RunningCost] = []
    try:
        endpoint = resources.output("counting", stack_outputs.ENDPOINT_NAME)
        running += endpoint_costs(sagemaker, endpoint)
    except click.ClickException as error:
        click.echo(f"note: no endpoint counted ({error.message})", err=True)
    except ClientError as error:
        click.echo(f"note: no endpoint counted ({error.response['Error'].get('Message', error)})", err=True)
    running += training_costs(sagemaker, resources.stage) + transform_costs(sagemaker, resources.stage)
    _print(running)


def _deployment() -> cost_model.Deployment:
    """The bill's settings from cdk.json (the default stage's, as `npx cdk deploy` reads them)."""
    try:
        settings = load_settings_from_cdk_json()
    except SettingsError as error:
        raise click.ClickException(f"cdk.json: {error}") from error
    # The real-time side of the comparison: the settings' instance type, or the prod stage's default.
    instance_type = settings.endpoint.instance_type
    hourly = HOSTING_HOURLY_USD.get(instance_type)
    if hourly is None:
        raise click.ClickException(
            f"No price for {instance_type} in HOSTING_HOURLY_USD (binventory/costs.py)."
        )
    return cost_model.Deployment(
        lambda_memory_mb=settings.counting.lambda_memory_mb,
        serverless_memory_mb=settings.endpoint.serverless_memory_mb,
        realtime_instance_type=instance_type,
        realtime_instances=settings.endpoint.min_instances,
        realtime_usd_per_hour=hourly,
    )


def per_million_report(measured: cost_model.Measured, deployment: cost_model.Deployment) -> str:
    """The per-million table and the crossover line, as `costs --per-million` prints them (and RESULTS.md)."""
    lines = cost_model.per_million(measured, deployment)
    shared = sum(line.usd_per_million for line in lines if line.service != "Serverless endpoint")
    serverless = next(line for line in lines if line.service == "Serverless endpoint").usd_per_million
    realtime = cost_model.realtime_usd_per_month(deployment)
    crossover = cost_model.crossover_photos_per_month(measured, deployment)
    capacity = cost_model.realtime_capacity_per_month(measured, deployment)
    fleet = f"{deployment.realtime_instances} x {deployment.realtime_instance_type}"
    per_second = crossover / 30 / 86400
    model_ms, handler_ms = measured.model_ms_per_image, measured.handler_ms_per_record
    rows = [f"| {line.service} | {line.usage} | {line.usd_per_million:,.2f} |" for line in lines]
    crossover_line = " ".join(
        [
            f"Crossover: a real-time endpoint ({fleet}, ${realtime:,.0f} a month) costs less than the",
            f"serverless one ({deployment.serverless_memory_mb} MB) above {crossover:,} photos a month",
            f"(about {per_second:.1f} photos a second around the clock); one instance counts up to",
            f"{capacity:,.0f} a month at {model_ms:.1f} ms a photo.",
        ]
    )
    inputs_line = " ".join(
        [
            f"Inputs: the Lambda's own work {handler_ms:.2f} ms per record and the model's {model_ms:.2f} ms",
            "per photo (measured: bench/bench_costs.py),",
            f"{measured.aws_round_trips_ms:.0f} ms of AWS round trips per photo (assumed),",
            f"{measured.flag_rate:.0%} flagged. Prices: on-demand us-east-1 list prices as of",
            f"{cost_model.PRICES_AS_OF} (binventory/cost_model.py names each page), the real-time",
            f"instance's ${deployment.realtime_usd_per_hour:.3f}/h from binventory/costs.py's hourly",
            f"table as of {PRICES_AS_OF}; confirm them before budgeting.",
        ]
    )
    return "\n".join(
        [
            "| service | usage | USD per 1M photos |",
            "|---|---|---:|",
            *rows,
            f"| **total, serverless endpoint** | | **{shared + serverless:,.2f}** |",
            f"| **total, real-time endpoint, at 1M photos a month** | {fleet} for a month: ${realtime:,.2f} "
            f"| **{shared + realtime:,.2f}** |",
            "",
            crossover_line,
            inputs_line,
        ]
    )


def _print(running: list[RunningCost]) -> None:
    if not running:
        click.echo("Nothing that bills by the hour is running.")
    else:
        table = Table("what", "capacity", "USD per hour", "note")
        for cost in running:
            price = "no price in the table" if cost.usd_per_hour is None else f"{cost.usd_per_hour:.3f}"
            table.add_row(cost.what, cost.capacity, price, cost.note)
        Console(width=200).print(table)
        known = sum(cost.usd_per_hour or 0.0 for cost in running)
        click.echo(
            f"estimated total: ${known:.2f} per hour "
            f"(${known * 24 * 30:.0f} per 30 days if it all kept running)"
        )
    click.echo(f"prices: {PRICE_SOURCE}, as of {PRICES_AS_OF}; spot, other regions and savings plans differ.")
