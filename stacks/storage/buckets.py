"""The four S3 buckets: ingest (bin photos), dataset (training data), artifacts (models), access logs."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts.deployment_settings import StorageSettings
from stacks import checkov
from stacks.checkov import CDK_HANDLER_CHECKOV_SKIPS
from stacks.storage.access import grant_read_objects, grant_write_objects

# The custom resource provider CDK adds to a stack for `auto_delete_objects` (fixed construct id).
AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


class StorageBuckets(Construct):
    """Private, SSL-only, encrypted buckets; the data buckets are versioned and log their access."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StorageSettings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        # Versioned, so a deleted or overwritten log survives as a noncurrent version for a while.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **self._common_props(),
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-logs",
                    expiration=cdk.Duration.days(settings.access_log_expiration_days),
                    noncurrent_version_expiration=cdk.Duration.days(
                        settings.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(
                        settings.incomplete_upload_expiration_days
                    ),
                )
            ],
        )
        checkov.skip(
            self.access_logs,
            "CKV_AWS_18",
            "This is the bucket the other buckets' server access logs go to; logging its own access would "
            "need yet another bucket (or log the log writes into itself).",
        )
        self.ingest = self._data_bucket("Ingest", "ingest/")
        self.dataset = self._data_bucket("Dataset", "dataset/")
        self.artifacts = self._data_bucket("Artifacts", "artifacts/")
        # Emptying buckets on `cdk destroy` runs CDK's own handler, one per stack.
        auto_delete = cdk.Stack.of(self).node.try_find_child(AUTO_DELETE_PROVIDER_ID)
        if auto_delete is not None:
            for check_id, reason in CDK_HANDLER_CHECKOV_SKIPS:
                checkov.skip(
                    auto_delete.node.find_child("Handler"),
                    check_id,
                    f"CDK's S3 auto-delete-objects custom resource handler: {reason}",
                )

    # Grants: each names what the grantee reads or writes and why; the reason becomes the cdk-nag
    # acknowledgment of the object ARN's wildcard (stacks/storage/access.py).
    def grant_read_photos(
        self, grantee: iam.IGrantable, *, reason: str, prefixes: Sequence[str] = ("",)
    ) -> None:
        """Read bin photos (and the metadata beside them) in the ingest bucket, under `prefixes`."""
        grant_read_objects(self.ingest, grantee, reason=reason, prefixes=prefixes)

    def grant_read_training_data(self, grantee: iam.IGrantable, *, reason: str) -> None:
        """Read everything in the dataset bucket (training channels, manifest datasets)."""
        grant_read_objects(self.dataset, grantee, reason=reason)

    def grant_read_artifacts(self, grantee: iam.IGrantable, *, prefixes: Sequence[str], reason: str) -> None:
        """Read artifacts (model archives, checkpoints, transform manifests) under `prefixes` only."""
        grant_read_objects(self.artifacts, grantee, reason=reason, prefixes=prefixes)

    def grant_write_artifacts(self, grantee: iam.IGrantable, *, prefixes: Sequence[str], reason: str) -> None:
        """Write artifacts under `prefixes` only."""
        grant_write_objects(self.artifacts, grantee, reason=reason, prefixes=prefixes)

    def _common_props(self) -> dict[str, object]:
        retain = self._settings.retain
        return {
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "enforce_ssl": True,
            "removal_policy": cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY,
            # A stage that destroys its buckets empties them first, or CloudFormation cannot delete them.
            "auto_delete_objects": not retain,
        }

    def _data_bucket(self, construct_id: str, log_prefix: str) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            **self._common_props(),
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-versions-and-uploads",
                    noncurrent_version_expiration=cdk.Duration.days(
                        self._settings.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(
                        self._settings.incomplete_upload_expiration_days
                    ),
                    expired_object_delete_marker=True,
                )
            ],
        )
