"""CloudWatch alarms on the counting pipeline: stuck photos, Lambda failures, endpoint errors, latency."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contracts.deployment_settings import AlarmSettings

# A photo waiting this long in the ingest queue means counting has stalled or fallen behind.
QUEUE_AGE_ALARM_SECONDS = 15 * 60
REJECTED_SHARE_ALARM = 0.5


class CountingAlarms(Construct):
    """Each alarm notifies the topic; missing data (no traffic) never alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self._action = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def watch_queues(self, *, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> None:
        self._alarm(
            "DeadLettersWaiting",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            description="Photos failed counting repeatedly and wait in the dead-letter queue.",
        )
        self._alarm(
            "IngestBacklog",
            queue.metric_approximate_age_of_oldest_message(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=QUEUE_AGE_ALARM_SECONDS,
            description="The oldest photo in the ingest queue has waited over 15 minutes.",
        )

    def watch_function(self, function: lambda_.IFunction) -> None:
        self._alarm(
            "CounterErrors",
            function.metric_errors(period=cdk.Duration.minutes(5), statistic="Sum"),
            threshold=1,
            description="The counting Lambda failed whole invocations (not single records).",
        )
        self._alarm(
            "CounterThrottles",
            function.metric_throttles(period=cdk.Duration.minutes(5), statistic="Sum"),
            threshold=1,
            description="The counting Lambda was throttled.",
        )

    def watch_endpoint(self, *, endpoint_name: str, variant_name: str, settings: AlarmSettings) -> Construct:
        """Alarms on the endpoint, under the construct returned (the stack deploys it only with a model)."""
        scope = Construct(self, "Endpoint")

        def endpoint_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=name,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
                period=cdk.Duration.minutes(5),
                statistic=statistic,
            )

        self._alarm(
            "EndpointServerErrors",
            endpoint_metric("Invocation5XXErrors", "Sum"),
            threshold=1,
            description="The model endpoint answered with server errors.",
            scope=scope,
        )
        # A few rejected photos are expected (the Lambda records them as INVALID_IMAGE); most requests
        # rejected means the model and the Lambda disagree on the request format.
        self._alarm(
            "EndpointRejectingRequests",
            cloudwatch.MathExpression(
                expression="IF(calls > 0, rejected / calls, 0)",
                using_metrics={
                    "rejected": endpoint_metric("Invocation4XXErrors", "Sum"),
                    "calls": endpoint_metric("Invocations", "Sum"),
                },
                period=cdk.Duration.minutes(5),
                label="Share of requests the model rejected",
            ),
            threshold=REJECTED_SHARE_ALARM,
            evaluation_periods=3,
            description="The model rejected (4xx) at least half of the requests for 15 minutes.",
            scope=scope,
        )
        self._alarm(
            "EndpointSlow",
            endpoint_metric("ModelLatency", "p90"),
            # ModelLatency is reported in microseconds.
            threshold=settings.endpoint_latency_p90_ms * 1000,
            evaluation_periods=3,
            description=f"The model's p90 latency exceeded {settings.endpoint_latency_p90_ms} ms "
            "for 15 minutes.",
            scope=scope,
        )
        return scope

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        scope: Construct | None = None,
    ) -> None:
        alarm = metric.create_alarm(
            scope or self,
            construct_id,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
