"""The ingest queue: S3 "object created" notifications for bin photos, with a dead-letter queue."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contracts.deployment_settings import CountingSettings
from stacks import checkov


class IngestQueue(Construct):
    """Buffers photo notifications for the counting Lambda; a message that keeps failing lands in the DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CountingSettings,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # Longer than the source queue's retention: SQS keeps a moved message's original enqueue time,
        # so a shorter DLQ retention would expire failures before anyone looked at them.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(4),
            visibility_timeout=cdk.Duration.seconds(settings.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                # A message is retried this many times (throttling, endpoint not ready) before it is parked.
                max_receive_count=settings.max_receive_count,
                queue=self.dead_letter_queue,
            ),
        )

        for queue in (self.queue, self.dead_letter_queue):
            # A stage that retains its data keeps the photos waiting in the queue and those parked as failed.
            queue.apply_removal_policy(removal_policy)
            checkov.skip(
                queue,
                "CKV_AWS_27",
                "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled). A KMS key would have to "
                "be a customer-managed one whose policy lets S3 send the upload notifications (aws/sqs "
                "cannot), for messages that hold only S3 keys and event metadata.",
            )

    def receive_objects_created(self, bucket: s3.IBucket, *, prefixes: Sequence[str]) -> None:
        """Queue an S3 notification for every object created under each of `prefixes` in `bucket`."""
        for prefix in prefixes:
            bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.SqsDestination(self.queue),
                s3.NotificationKeyFilter(prefix=prefix),
            )
