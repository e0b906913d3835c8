"""The fleet's dashboard and drift alarms, as the counting stack synthesizes them."""

from __future__ import annotations

import json
from typing import Any

from stacks_testkit import SynthesizedApp, only_resource, render, resources

from contracts import fleet_metrics
from contracts.counter_environment import SERVICE_NAME
from contracts.inventory_schema import METRICS_NAMESPACE, CounterMetric, Status


def _dashboard(app: SynthesizedApp) -> dict[str, Any]:
    dashboard = only_resource(app.template("counting"), "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == fleet_metrics.dashboard_name(app.settings.stage)
    return json.loads(render(dashboard["DashboardBody"]))


def _widgets(app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    return {
        widget["properties"]["title"]: widget["properties"]
        for widget in _dashboard(app)["widgets"]
        if "title" in widget["properties"]
    }


def _counter_series(widget: dict[str, Any]) -> set[tuple[str, str]]:
    """(metric name, statistic) of each of the counting Lambda's metrics the widget graphs."""
    return {
        (line[1], line[-1].get("stat", "Average"))  # the dashboard leaves out the default statistic
        for line in widget["metrics"]
        if line[0] == METRICS_NAMESPACE and line[2:4] == ["service", SERVICE_NAME]
    }


def test_the_dashboard_shows_statuses_flag_rate_and_the_spread_of_p_expected_and_delta(
    dev_app: SynthesizedApp,
) -> None:
    widgets = _widgets(dev_app)

    assert _counter_series(widgets["Statuses per hour"]) == {
        (CounterMetric.for_status(status), "Sum") for status in Status
    }
    assert all(line[-1]["period"] == 3600 for line in widgets["Statuses per hour"]["metrics"])
    flag_rate = widgets["Flag rate, with its normal band (anomaly detection)"]
    assert (CounterMetric.FLAGGED, "Average") in _counter_series(flag_rate)
    assert any("ANOMALY_DETECTION_BAND" in json.dumps(line) for line in flag_rate["metrics"])
    spread = {"Average", "p10", "p50", "p90"}
    assert _counter_series(widgets["P(expected count): mean and spread"]) == {
        (CounterMetric.EXPECTED_PROBABILITY, stat) for stat in spread
    }
    assert _counter_series(widgets["Predicted minus expected: mean and spread"]) == {
        (CounterMetric.COUNT_DELTA, stat) for stat in spread
    }


def test_the_dashboard_shows_endpoint_latency_and_errors_dead_letters_and_deferred_messages(
    prod_app: SynthesizedApp,
) -> None:
    widgets = _widgets(prod_app)

    endpoint = json.dumps(widgets["Endpoint latency (model, ms x 1000) and errors"]["metrics"])
    for name in ("ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors"):
        assert f'"AWS/SageMaker", "{name}", "EndpointName", "binventory-prod-counter"' in endpoint
    queues = widgets["Dead-letter queue and deferred or failed messages"]
    assert "ApproximateNumberOfMessagesVisible" in json.dumps(queues["metrics"])
    assert _counter_series(queues) == {
        (CounterMetric.DEFERRED_MESSAGES, "Sum"),
        (CounterMetric.FAILED_MESSAGES, "Sum"),
    }


def test_drift_alarms_watch_the_flag_rate_and_mean_p_expected_against_an_anomaly_band(
    dev_app: SynthesizedApp,
) -> None:
    template = dev_app.template("counting")
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    drift = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        band = [
            query
            for query in properties.get("Metrics", [])
            if "ANOMALY_DETECTION_BAND" in query.get("Expression", "")
        ]
        if band:
            (watched,) = [query["MetricStat"] for query in properties["Metrics"] if "MetricStat" in query]
            drift[(watched["Metric"]["MetricName"], watched["Stat"])] = (properties, band[0], watched)

    assert set(drift) == {(CounterMetric.FLAGGED, "Average"), (CounterMetric.EXPECTED_PROBABILITY, "Average")}
    for properties, band, watched in drift.values():
        # outside the band either way, for 3 of 4 hours; no photos is no drift; it notifies the alarm topic
        assert properties["ThresholdMetricId"] == band["Id"]
        assert properties["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
        assert (properties["DatapointsToAlarm"], properties["EvaluationPeriods"]) == (3, 4)
        assert watched["Period"] == 3600
        assert watched["Metric"]["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
        assert properties["TreatMissingData"] == "notBreaching"
        assert properties["AlarmActions"] == [{"Ref": topic_id}]
