"""`binventory status` against moto's CloudWatch: the dashboard's figures over a window."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from contracts import fleet_metrics, stack_outputs
from contracts.inventory_schema import CounterMetric, Status

DIMENSIONS = [{"Name": name, "Value": value} for name, value in fleet_metrics.COUNTER_DIMENSIONS.items()]


@pytest.fixture
def fleet(aws: None, set_stack_outputs: Any, cloudwatch_percentiles: None) -> Any:
    """An hour of counting as the Lambda's embedded metrics leave it in CloudWatch, and a dead letter."""
    cloudwatch = boto3.client("cloudwatch")

    def put(name: str, values: list[float]) -> None:
        for value in values:
            cloudwatch.put_metric_data(
                Namespace="Binventory",
                MetricData=[{"MetricName": name, "Dimensions": DIMENSIONS, "Value": value}],
            )

    # 10 reconciled photos: 7 MATCH, 2 MISMATCH, 1 LOW_CONFIDENCE; and one deferred message
    put(CounterMetric.for_status(Status.MATCH), [1] * 7)
    put(CounterMetric.for_status(Status.MISMATCH), [1] * 2)
    put(CounterMetric.for_status(Status.LOW_CONFIDENCE), [1])
    put(CounterMetric.FLAGGED, [0] * 7 + [1] * 3)
    put(CounterMetric.EXPECTED_PROBABILITY, [0.9, 0.8, 0.8, 0.7, 0.7, 0.6, 0.6, 0.1, 0.05, 0.3])
    put(CounterMetric.COUNT_DELTA, [0] * 7 + [-1, 2, 1])
    put(CounterMetric.DEFERRED_MESSAGES, [1])
    sqs = boto3.client("sqs")
    dead_letters = sqs.create_queue(QueueName="binventory-dev-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dead_letters, MessageBody="{}")
    set_stack_outputs(
        **{
            stack_outputs.ENDPOINT_NAME: "binventory-dev-counter",
            stack_outputs.DEAD_LETTER_QUEUE_URL: dead_letters,
            stack_outputs.DEAD_LETTER_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:binventory-dev-dlq",
        }
    )
    return cloudwatch


def test_status_prints_the_fleets_figures_for_the_window(fleet: Any, invoke: Any) -> None:
    # when
    result = invoke("status", "--since", "2h", "--json")

    # then the figures are those of the dashboard: statuses, flag rate, P(expected) and delta, messages
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)["figures"]
    assert (figures["status_match"], figures["status_mismatch"], figures["status_low_confidence"]) == (
        7,
        2,
        1,
    )
    assert figures["flag_rate"] == pytest.approx(0.3)
    assert figures["reconciled"] == 10
    assert figures["p_expected_average"] == pytest.approx(0.555)
    assert figures["p_expected_p10"] == pytest.approx(0.05)
    assert figures["p_expected_p50"] == pytest.approx(0.6)
    assert figures["delta_p90"] == pytest.approx(1)
    assert figures["deferred"] == 1
    assert figures["dead_letters"] == 1


def test_status_reads_as_a_table_with_a_link_to_the_dashboard(fleet: Any, invoke: Any) -> None:
    result = invoke("status")

    assert result.exit_code == 0, result.output
    assert "flag rate (flagged / reconciled)" in result.output and "30.0%" in result.output
    assert "dead letters waiting now" in result.output
    assert "#dashboards/dashboard/binventory-dev-fleet" in result.output


def test_status_refuses_a_window_it_cannot_read(fleet: Any, invoke: Any) -> None:
    result = invoke("status", "--since", "yesterday")

    assert result.exit_code == 2 and "30m, 24h, 7d" in result.output
