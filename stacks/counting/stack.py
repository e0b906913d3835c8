"""The counting stack: ingest queue, counting Lambda, event bus, endpoint and their alarms."""

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
from stacks.monitoring.topic import NotificationTopic
from stacks.storage.access import grant_read_objects
from stacks.storage.buckets import StorageBuckets
from stacks.storage.tables import InventoryTablesConstruct

# The Lambda reads the photo and the ABID metadata JSON beside it, nothing else in the bucket.
LAMBDA_READ_PREFIXES = (*inventory_schema.NOTIFIED_PREFIXES, inventory_schema.ABID_METADATA_PREFIX)
# Exactly what lambdas/counter/dal/inventory.py calls (tests/lambdas/test_counter_iam.py checks every call
# against this role). IAM authorizes TransactWriteItems per item: its Put of the record is a PutItem on the
# inventory table, its Update of the bin's latest state an UpdateItem on the bin state table.
# Inventory: the conditional put of one record per image (in the transaction, or alone when the bin state
# is newer); one BatchGetItem per SQS batch tells the records already made.
INVENTORY_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:PutItem")
# Bin state: the expected quantity (in the batch read, else one GetItem), and the latest state written back.
BIN_STATE_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem")
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
        sagemaker_role: iam.IRole,
        env: cdk.Environment,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description="Binventory counting: ingest queue, Lambda, endpoint, alarms",
        )
        retain = cdk.RemovalPolicy.RETAIN if settings.storage.retain else cdk.RemovalPolicy.DESTROY
        ingest = IngestQueue(self, "Ingest", settings=settings.counting)
        # Imported here so the notification resource lives in this stack: a notification added to the
        # storage stack's bucket would make storage depend on this stack's queue, a dependency cycle.
        ingest_bucket = s3.Bucket.from_bucket_attributes(
            self, "IngestBucket", bucket_arn=buckets.ingest.bucket_arn, bucket_name=buckets.ingest.bucket_name
        )
        ingest.receive_objects_created(ingest_bucket, prefixes=inventory_schema.NOTIFIED_PREFIXES)
        self._acknowledge_notifications_handler()

        self.event_bus = events.EventBus(
            self, "Events", description="MISMATCH and LOW_CONFIDENCE events from the counting Lambda"
        )
        self.endpoint = EndpointConstruct(
            self,
            "Endpoint",
            settings=settings,
            execution_role=sagemaker_role,
            artifacts_bucket=buckets.artifacts,
        )
        self.counter = CounterFunction(
            self,
            "Counter",
            settings=settings.counting,
            queue=ingest.queue,
            log_removal_policy=retain,
            environment=counter_environment(
                inventory_table=tables.inventory.table_name,
                bin_state_table=tables.bin_state.table_name,
                endpoint_name=self.endpoint.endpoint_name,
                event_bus_name=self.event_bus.event_bus_name,
                confidence_threshold=settings.counting.confidence_threshold,
                max_image_bytes=settings.counting.max_image_bytes,
                mismatch_below=settings.counting.mismatch_below,
            ),
        )
        function = self.counter.function
        grant_read_objects(
            buckets.ingest,
            function,
            prefixes=LAMBDA_READ_PREFIXES,
            reason="The Lambda reads each notified photo and the ABID metadata JSON beside it; uploaders "
            "choose the keys, and the grant is limited to the incoming/, bin-images/ and metadata/ prefixes.",
        )
        # Table ARNs only: `Table.grant` would add the indexes, which these item writes never touch.
        for table, actions in (
            (tables.inventory, INVENTORY_ACTIONS),
            (tables.bin_state, BIN_STATE_ACTIONS),
        ):
            iam.Grant.add_to_principal(
                grantee=function, actions=list(actions), resource_arns=[table.table_arn]
            )
        self.endpoint.grant_invoke(function)
        self.event_bus.grant_put_events_to(function)

        alarm_topic = NotificationTopic(
            self, "Alarms", display_name=f"Binventory {settings.stage} alarms", email=settings.alarms.email
        )
        self.alarms = CountingAlarms(self, "Monitoring", topic=alarm_topic.topic)
        self.alarms.watch_queues(queue=ingest.queue, dead_letter_queue=ingest.dead_letter_queue)
        self.alarms.watch_function(function)
        if self.endpoint.endpoint is not None:
            self.alarms.watch_endpoint(
                endpoint_name=self.endpoint.endpoint_name, variant_name=VARIANT_NAME, settings=settings.alarms
            )

        for output_id, value in (
            (stack_outputs.ENDPOINT_NAME, self.endpoint.endpoint_name),
            (stack_outputs.INGEST_QUEUE_URL, ingest.queue.queue_url),
            (stack_outputs.DEAD_LETTER_QUEUE_URL, ingest.dead_letter_queue.queue_url),
            (stack_outputs.COUNTER_FUNCTION_NAME, function.function_name),
            (stack_outputs.EVENT_BUS_NAME, self.event_bus.event_bus_name),
        ):
            cdk.CfnOutput(self, output_id, value=value)
        if self.endpoint.model is not None:
            cdk.CfnOutput(self, stack_outputs.COUNTER_MODEL_NAME, value=self.endpoint.model.attr_model_name)
        else:
            cdk.CfnOutput(
                self,
                stack_outputs.ENDPOINT_DEPLOY_HINT,
                value="Endpoint not deployed: no model package yet. Train one, then: "
                + deploy_command(settings.stage),
            )

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
