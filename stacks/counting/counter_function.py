"""The counting Lambda: Python 3.12, its code and the contracts in one asset, Powertools from a public layer.

The asset holds `counter/` (lambdas/counter) and `contracts/` side by side, staged in-process during synth
(no Docker), so the handler string `counter.handler.lambda_handler` finds both on the runtime's path.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from contracts.deployment_settings import LOG_RETENTION_DAYS, CountingSettings
from stacks import checkov, nag
from stacks.local_bundling import CONTRACTS_DIR, REPO_ROOT, copy_folders, local_bundling

COUNTER_DIR = REPO_ROOT / "lambdas" / "counter"
HANDLER = "counter.handler.lambda_handler"
# The asset's top-level packages: the handler's own, and the contracts it imports absolutely.
ASSET_FOLDERS = {"counter": COUNTER_DIR, "contracts": CONTRACTS_DIR}
# The version requirements.txt pins, so the layer that runs is the Powertools the tests import. Move
# both together; a new release's parameter can appear after its PyPI release (powertools-lambda-python#7689).
POWERTOOLS_VERSION = "3.37.0"
# AWS publishes each release's layer ARN per architecture and runtime in a public parameter
# (/aws/service/powertools/python/{arch}/{python_version}/{version}); CloudFormation resolves it at
# deploy time, so synth stays offline.
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/x86_64/python3.12/{POWERTOOLS_VERSION}"
# The settings' allowed retention periods pair up with RetentionDays' members in order (INFINITE last).
RETENTION_BY_DAYS = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[:-1], strict=True))


def counter_code() -> lambda_.Code:
    """`counter/` and `contracts/` as one asset, hashed by what is staged: a change to either redeploys."""
    return lambda_.Code.from_asset(
        str(COUNTER_DIR),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=local_bundling(
            lambda output_dir: copy_folders(ASSET_FOLDERS, output_dir), cdk.BundlingOutput.NOT_ARCHIVED
        ),
    )


class CounterFunction(Construct):
    """The Lambda that counts the items in each queued photo and writes the reconciliation."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CountingSettings,
        queue: sqs.IQueue,
        environment: Mapping[str, str],
        log_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=RETENTION_BY_DAYS[settings.log_retention_days],
            removal_policy=log_removal_policy,
        )
        # A role of its own, so the function gets only its log group rather than the managed
        # AWSLambdaBasicExecutionRole policy (which allows writing to any log group).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Binventory counting Lambda",
        )
        self.log_group.grant_write(self.role)
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Counts the items in bin photos and reconciles them with the expected quantity",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            code=counter_code(),
            handler=HANDLER,
            layers=[powertools],
            role=self.role,
            memory_size=settings.lambda_memory_mb,
            timeout=cdk.Duration.seconds(settings.lambda_timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment=dict(environment),
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=settings.batch_size,
                max_batching_window=cdk.Duration.seconds(settings.max_batching_window_seconds),
                # Only the failed records return to the queue; the rest of the batch is done.
                report_batch_item_failures=True,
                # Caps parallel invocations, and so concurrent endpoint calls.
                max_concurrency=settings.max_concurrency,
            )
        )
        self._skip_checkov_checks_that_do_not_apply()
        nag.acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray trace segment APIs (granted for active tracing) support no resource-level permissions.",
        )
        nag.acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to Python 3.12: the runtime the handler is tested on, matching the Powertools "
            "layer path above.",
        )

    def _skip_checkov_checks_that_do_not_apply(self) -> None:
        for check_id, reason in (
            (
                "CKV_AWS_116",
                "Invoked only by the SQS event source, synchronously: a Lambda DLQ applies to asynchronous "
                "invocations, and failed messages go to the ingest queue's own dead-letter queue.",
            ),
            (
                "CKV_AWS_117",
                "Calls only AWS APIs (S3, DynamoDB, SageMaker runtime, EventBridge, and SQS to send a "
                "deferred message back to its queue) and no private resource; a VPC would add NAT or "
                "interface endpoints for no access it needs.",
            ),
            (
                "CKV_AWS_115",
                "Concurrency is capped by the SQS event source's MaximumConcurrency "
                "(counting.max_concurrency); reserving it would take it from the account's unreserved pool, "
                "which fails on new accounts.",
            ),
            (
                "CKV_AWS_173",
                "The environment holds only resource names and thresholds, no secrets; Lambda encrypts it at "
                "rest with its service key, and a customer key would protect nothing more here.",
            ),
        ):
            checkov.skip(self.function, check_id, reason)
        checkov.skip(
            self.log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; these logs hold bin ids, S3 keys and counts "
            "(already in the tables) and no secrets, so a customer key would add cost and a key policy only.",
        )
