"""The fleet's dashboard and drift alarms, from what the counting Lambda already knows.

SageMaker Model Monitor is not open to new customers and serverless endpoints capture no data, so drift is
watched from the Lambda's own metrics (`contracts.fleet_metrics`): the flag rate, the spread of the model's
P(expected count) and the predicted-minus-expected delta. Beside them: statuses per hour, the endpoint's
latency and errors, the dead-letter queue's depth and the messages deferred or failed.

The drift alarms use CloudWatch anomaly detection: a band learnt from this stage's own hourly history. A band
fitted from the model's validation figures would not do: those photos carry planted errors at 50%, so their
flag rate and P(expected) describe no warehouse; what is normal depends on the warehouse's own rate of wrong
records and its photos. The band needs about two weeks of data before it is narrow; until then it is wide and
alarms only on large moves.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contracts import fleet_metrics
from contracts.fleet_metrics import Figure

HOUR = cdk.Duration.hours(1)
# Standard deviations of the anomaly band; 2 is CloudWatch's default, and what the console proposes.
BAND_STD_DEVS = 2
# Hours outside the band, out of the last DRIFT_WINDOW_HOURS, before the alarm fires: one odd hour is noise.
DRIFT_HOURS_TO_ALARM = 3
DRIFT_WINDOW_HOURS = 4


def counter_metric(figure: Figure, period: cdk.Duration = HOUR) -> cloudwatch.Metric:
    """One of the counting Lambda's figures as CloudWatch stores it."""
    return cloudwatch.Metric(
        namespace=figure.namespace,
        metric_name=figure.metric,
        dimensions_map=dict(fleet_metrics.COUNTER_DIMENSIONS),
        statistic=figure.stat,
        period=period,
        label=figure.label,
    )


class FleetDashboard(Construct):
    """One CloudWatch dashboard for the stage, and the alarms that say when counting drifts."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        endpoint_name: str,
        variant_name: str,
        dead_letter_queue: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.flag_rate = counter_metric(fleet_metrics.FLAG_RATE)
        self.mean_expected_probability = counter_metric(fleet_metrics.EXPECTED_PROBABILITY[0])
        self.alarms = [
            self._drift_alarm(
                "FlagRateDrift",
                self.flag_rate,
                "The share of reconciled photos flagged (MISMATCH or LOW_CONFIDENCE) left its normal band "
                f"for {DRIFT_HOURS_TO_ALARM} of {DRIFT_WINDOW_HOURS} hours: the photos, the shelves or the "
                "records have changed, or the model no longer fits them.",
                topic,
            ),
            self._drift_alarm(
                "ExpectedProbabilityDrift",
                self.mean_expected_probability,
                "The model's mean P(expected count) left its normal band for "
                f"{DRIFT_HOURS_TO_ALARM} of {DRIFT_WINDOW_HOURS} hours: it agrees with the records more or "
                "less than it used to.",
                topic,
            ),
        ]

        def endpoint_metric(name: str, statistic: str, label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=name,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
                statistic=statistic,
                period=cdk.Duration.minutes(5),
                label=label,
            )

        width = 12
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=fleet_metrics.dashboard_name(stage),
            default_interval=cdk.Duration.days(7),
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title="Statuses per hour",
                        left=[counter_metric(figure) for figure in fleet_metrics.STATUS_FIGURES],
                        stacked=True,
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Flag rate, with its normal band (anomaly detection)",
                        left=[
                            self.flag_rate,
                            cloudwatch.MathExpression(
                                expression=f"ANOMALY_DETECTION_BAND(m1, {BAND_STD_DEVS})",
                                using_metrics={"m1": self.flag_rate},
                                label="normal band",
                                period=HOUR,
                            ),
                        ],
                        left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                        width=width,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="P(expected count): mean and spread",
                        left=[counter_metric(figure) for figure in fleet_metrics.EXPECTED_PROBABILITY],
                        left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Predicted minus expected: mean and spread",
                        left=[counter_metric(figure) for figure in fleet_metrics.COUNT_DELTA],
                        width=width,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Endpoint latency (model, ms x 1000) and errors",
                        left=[
                            endpoint_metric("ModelLatency", "p50", "model latency p50 (us)"),
                            endpoint_metric("ModelLatency", "p90", "model latency p90 (us)"),
                        ],
                        right=[
                            endpoint_metric("Invocation4XXErrors", "Sum", "4xx (images refused)"),
                            endpoint_metric("Invocation5XXErrors", "Sum", "5xx"),
                        ],
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Dead-letter queue and deferred or failed messages",
                        left=[
                            dead_letter_queue.metric_approximate_number_of_messages_visible(
                                period=cdk.Duration.minutes(5), statistic="Maximum", label="dead letters"
                            )
                        ],
                        right=[counter_metric(figure) for figure in fleet_metrics.MESSAGES],
                        width=width,
                    ),
                ],
                [
                    cloudwatch.AlarmStatusWidget(
                        title="Drift alarms", alarms=list(self.alarms), width=2 * width, height=3
                    )
                ],
            ],
        )

    def _drift_alarm(
        self, construct_id: str, metric: cloudwatch.Metric, description: str, topic: sns.ITopic
    ) -> cloudwatch.AnomalyDetectionAlarm:
        alarm = cloudwatch.AnomalyDetectionAlarm(
            self,
            construct_id,
            metric=metric,
            std_devs=BAND_STD_DEVS,
            evaluation_periods=DRIFT_WINDOW_HOURS,
            datapoints_to_alarm=DRIFT_HOURS_TO_ALARM,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
            # An hour without photos is no drift.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        return alarm
