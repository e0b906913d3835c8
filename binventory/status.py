"""`binventory status`: how the fleet did over a window, in the figures the stage's dashboard graphs.

The figures (`contracts.fleet_metrics`) are the counting Lambda's metrics, read with one GetMetricData over
the window: statuses, the flag rate, the spread of P(expected) and of predicted minus expected, deferred and
failed messages. Beside them the endpoint's latency and errors (SageMaker's metrics) and the dead-letter
queue's depth now.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from binventory.aws_errors import AwsCommand
from binventory.inventory.since import parse_since
from binventory.resources import StackResources
from contracts import fleet_metrics, stack_outputs
from contracts.fleet_metrics import Figure

VARIANT_NAME = "AllTraffic"  # the counting stack's only production variant (stacks/counting/endpoint.py)
# SageMaker's endpoint metrics: (query id, label, metric, statistic, scale to the unit shown)
ENDPOINT_FIGURES = (
    ("model_latency_p90", "endpoint model latency p90 (ms)", "ModelLatency", "p90", 1 / 1000),
    ("invocations", "endpoint invocations", "Invocations", "Sum", 1.0),
    ("errors_4xx", "endpoint 4xx (images refused)", "Invocation4XXErrors", "Sum", 1.0),
    ("errors_5xx", "endpoint 5xx", "Invocation5XXErrors", "Sum", 1.0),
)


@dataclass(frozen=True)
class Window:
    """The window asked about, as one CloudWatch period (a multiple of 60 s) ending now."""

    start: datetime
    end: datetime

    @property
    def period(self) -> int:
        return max(60, math.ceil((self.end - self.start).total_seconds() / 60) * 60)


def counter_queries(window: Window) -> list[dict[str, Any]]:
    """One GetMetricData query per figure of the counting Lambda, each one value over the whole window."""
    return [
        {
            "Id": figure.key,
            "Label": figure.label,
            "MetricStat": {
                "Metric": {
                    "Namespace": figure.namespace,
                    "MetricName": figure.metric,
                    "Dimensions": [
                        {"Name": k, "Value": v} for k, v in fleet_metrics.COUNTER_DIMENSIONS.items()
                    ],
                },
                "Period": window.period,
                "Stat": figure.stat,
            },
        }
        for figure in fleet_metrics.FIGURES
    ]


def endpoint_queries(window: Window, endpoint: str) -> list[dict[str, Any]]:
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": VARIANT_NAME}]
    return [
        {
            "Id": key,
            "Label": label,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dimensions},
                "Period": window.period,
                "Stat": stat,
            },
        }
        for key, label, metric, stat, _ in ENDPOINT_FIGURES
    ]


def metric_values(cloudwatch: Any, queries: list[dict[str, Any]], window: Window) -> dict[str, float]:
    """Query id -> its value over the window (absent: no data in it)."""
    values: dict[str, float] = {}
    request: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": window.end - timedelta(seconds=window.period),
        "EndTime": window.end,
    }
    while True:
        response = cloudwatch.get_metric_data(**request)
        for result in response["MetricDataResults"]:
            if result["Values"]:
                values[result["Id"]] = float(result["Values"][0])
        if not response.get("NextToken"):
            return values
        request["NextToken"] = response["NextToken"]


def _shown(figure: Figure, value: float | None) -> str:
    if value is None:
        return "-"
    if figure.stat in ("Sum", "SampleCount"):
        return f"{value:.0f}"
    if figure is fleet_metrics.FLAG_RATE:
        return f"{value:.1%}"
    return f"{value:.3f}"


@click.command("status", cls=AwsCommand)
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="The window: a duration back from now (30m, 24h, 7d) or a UTC date/time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def status(resources: StackResources, since: str, as_json: bool) -> None:
    """How counting went over a window: the figures of the stage's dashboard and drift alarms."""
    now = datetime.now(UTC)
    # CloudWatch's EndTime is exclusive: the window runs to the end of this minute, so it holds now.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    try:
        window = Window(parse_since(since, now), end)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from error
    cloudwatch = resources.client("cloudwatch")
    counter = metric_values(cloudwatch, counter_queries(window), window)
    endpoint_name = resources.output("counting", stack_outputs.ENDPOINT_NAME)
    endpoint = metric_values(cloudwatch, endpoint_queries(window, endpoint_name), window)
    dead_letters = int(
        resources.client("sqs").get_queue_attributes(
            QueueUrl=resources.output("counting", stack_outputs.DEAD_LETTER_QUEUE_URL),
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    rows = [(figure.label, _shown(figure, counter.get(figure.key))) for figure in fleet_metrics.FIGURES]
    rows += [
        (label, "-" if key not in endpoint else f"{endpoint[key] * scale:.0f}")
        for key, label, _, _, scale in ENDPOINT_FIGURES
    ]
    rows.append(("dead letters waiting now", str(dead_letters)))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "since": window.start.isoformat(),
                    "until": window.end.isoformat(),
                    "figures": {**counter, **endpoint, "dead_letters": dead_letters},
                },
                indent=2,
                sort_keys=True,
            )
        )
        return
    table = Table(
        "figure",
        "value",
        title=f"binventory {resources.stage}: {window.start:%Y-%m-%d %H:%M} to {now:%H:%M} UTC",
    )
    for label, value in rows:
        table.add_row(label, value)
    Console(width=160).print(table)
    region = cloudwatch.meta.region_name
    click.echo(
        f"dashboard: https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/"
        + fleet_metrics.dashboard_name(resources.stage)
    )
