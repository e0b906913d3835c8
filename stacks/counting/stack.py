"""The counting stack: ingest queue, counting Lambda, event bus, endpoint, the review page, and alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts import inventory_schema, stack_outputs
from contracts.counter_environment import counter_environment
from contracts.deployment_settings import Settings
from stacks import checkov, nag
from stacks.checkov import CDK_HANDLER_CHECKOV_SKIPS
from stacks.counting.counter_function import CounterFunction
from stacks.counting.endpoint import VARIANT_NAME, EndpointConstruct, deploy_command
from stacks.counting.ingest_queue import IngestQueue
from stacks.monitoring.alarms import CountingAlarms
from stacks.monitoring.dashboard import FleetDashboard
from stacks.monitoring.topic import NotificationTopic
from stacks.review.review import ReviewConstruct
from stacks.storage.buckets import StorageBuckets
from stacks.storage.tables import InventoryTablesConstruct

# The Lambda reads the photo and the ABID metadata JSON beside it, nothing else in the bucket.
LAMBDA_READ_PREFIXES = (*inventory_schema.NOTIFIED_PREFIXES, inventory_schema.ABID_METADATA_PREFIX)
# The BucketNotifications custom resource CDK adds for S3 -> SQS notifications (fixed construct id).
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


class CountingStack(cdk.Stack):
    """Photo in the ingest bucket -> queue -> Lambda -> endpoint -> tables (+ events for people)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        buckets: StorageBuckets,
        tables: InventoryTablesConstruct,
        serving_role: iam.IRole,
        env: cdk.Environment,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description="Binventory counting: ingest queue, Lambda, endpoint, alarms",
        )
        retain = cdk.RemovalPolicy.RETAIN if settings.storage.retain else cdk.RemovalPolicy.DESTROY
        self.ingest = IngestQueue(self, "Ingest", settings=settings.counting, removal_policy=retain)
        # Imported here so the notification resource lives in this stack: a notification added to the
        # storage stack's bucket would make storage depend on this stack's queue, a dependency cycle.
        ingest_bucket = s3.Bucket.from_bucket_attributes(
            self, "IngestBucket", bucket_arn=buckets.ingest.bucket_arn, bucket_name=buckets.ingest.bucket_name
        )
        self.ingest.receive_objects_created(ingest_bucket, prefixes=inventory_schema.NOTIFIED_PREFIXES)
        self._acknowledge_notifications_handler()

        self.event_bus = events.EventBus(
            self,
            "Events",
            description="Flagged bins from the counting Lambda, and their resolutions by reviewers",
        )
        self.endpoint = EndpointConstruct(
            self,
            "Endpoint",
            settings=settings,
            execution_role=serving_role,
            artifacts_bucket=buckets.artifacts,
        )
        self.counter = CounterFunction(
            self,
            "Counter",
            settings=settings.counting,
            queue=self.ingest.queue,
            log_removal_policy=retain,
            environment=counter_environment(
                inventory_table=tables.inventory.table_name,
                bin_state_table=tables.bin_state.table_name,
                endpoint_name=self.endpoint.endpoint_name,
                event_bus_name=self.event_bus.event_bus_name,
                decision=settings.counting.decision,
                max_image_bytes=settings.counting.max_image_bytes,
            ),
        )

        function = self.counter.function
        buckets.grant_read_photos(
            function,
            prefixes=LAMBDA_READ_PREFIXES,
            reason="The Lambda reads each notified photo and the ABID metadata JSON beside it; uploaders "
            "choose the keys, and the grant is limited to the incoming/, bin-images/ and metadata/ prefixes.",
        )
        tables.grant_recording(function)
        # A message the invocation had no time for goes back to the queue as a new one (handler.py).
        self.ingest.queue.grant_send_messages(function)
        self.endpoint.grant_invoke(function)
        self.event_bus.grant_put_events_to(function)

        self.review = ReviewConstruct(
            self,
            "Review",
            settings=settings,
            buckets=buckets,
            tables=tables,
            event_bus=self.event_bus,
            log_removal_policy=retain,
        )

        self._watch(settings)
        self._add_outputs(settings)

    def _watch(self, settings: Settings) -> None:
        """Alarms on the queues, the function and (while deployed) the endpoint; the fleet's dashboard and
        drift alarms; all alarms to one topic."""
        alarm_topic = NotificationTopic(
            self, "Alarms", display_name=f"Binventory {settings.stage} alarms", email=settings.alarms.email
        )
        self.alarms = CountingAlarms(self, "Monitoring", topic=alarm_topic.topic)
        self.alarms.watch_queues(queue=self.ingest.queue, dead_letter_queue=self.ingest.dead_letter_queue)
        self.alarms.watch_function(self.counter.function)
        endpoint_alarms = self.alarms.watch_endpoint(
            endpoint_name=self.endpoint.endpoint_name, variant_name=VARIANT_NAME, settings=settings.alarms
        )
        self.endpoint.apply_serving_condition(endpoint_alarms)
        self.fleet = FleetDashboard(
            self,
            "Fleet",
            stage=settings.stage,
            endpoint_name=self.endpoint.endpoint_name,
            variant_name=VARIANT_NAME,
            dead_letter_queue=self.ingest.dead_letter_queue,
            topic=alarm_topic.topic,
        )

    def _add_outputs(self, settings: Settings) -> None:
        """The names the CLI reads (contracts.stack_outputs)."""
        for output_id, value in (
            (stack_outputs.ENDPOINT_NAME, self.endpoint.endpoint_name),
            (stack_outputs.INGEST_QUEUE_URL, self.ingest.queue.queue_url),
            (stack_outputs.DEAD_LETTER_QUEUE_URL, self.ingest.dead_letter_queue.queue_url),
            (stack_outputs.DEAD_LETTER_QUEUE_ARN, self.ingest.dead_letter_queue.queue_arn),
            (stack_outputs.COUNTER_FUNCTION_NAME, self.counter.function.function_name),
            (stack_outputs.EVENT_BUS_NAME, self.event_bus.event_bus_name),
            (stack_outputs.REVIEW_URL, self.review.api.url),
            (stack_outputs.REVIEW_USER_POOL_ID, self.review.sign_in.user_pool.user_pool_id),
            (stack_outputs.REVIEW_FUNCTION_NAME, self.review.function.function.function_name),
        ):
            cdk.CfnOutput(self, output_id, value=value)
        model_name = cdk.CfnOutput(
            self, stack_outputs.COUNTER_MODEL_NAME, value=self.endpoint.model.attr_model_name
        )
        condition = self.endpoint.serving_condition
        if condition is None:
            return
        model_name.condition = condition
        hint = cdk.CfnOutput(
            self,
            stack_outputs.ENDPOINT_DEPLOY_HINT,
            value="Endpoint not deployed: no model package is recorded yet. Train one, then: "
            + deploy_command(settings.stage),
        )
        hint.condition = cdk.CfnCondition(self, "ServesNoModel", expression=cdk.Fn.condition_not(condition))

    def _acknowledge_notifications_handler(self) -> None:
        handler = self.node.find_child(NOTIFICATIONS_HANDLER_ID)
        for check_id, reason in CDK_HANDLER_CHECKOV_SKIPS:
            checkov.skip(handler, check_id, f"CDK's S3 bucket-notification custom resource handler: {reason}")
        nag.acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own S3 bucket-notification custom resource attaches this policy for its logs; it runs "
            "only while a deployment changes the notifications, and CDK offers no way to replace its role.",
        )
