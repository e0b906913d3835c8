"""The review Lambda: Python 3.12, its code, the page and the contracts in one asset, Powertools from the
public layer the counting Lambda uses (the same pinned version), staged in-process at synth (no Docker)."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks import checkov, nag
from stacks.counting.counter_function import POWERTOOLS_LAYER_PARAMETER, RETENTION_BY_DAYS
from stacks.local_bundling import CONTRACTS_DIR, REPO_ROOT, copy_folders, local_bundling

REVIEW_DIR = REPO_ROOT / "lambdas" / "review"
HANDLER = "review.handler.lambda_handler"
# The asset's top-level packages: the handler's own (its web/ page included) and the contracts.
ASSET_FOLDERS = {"review": REVIEW_DIR, "contracts": CONTRACTS_DIR}
# A person waits on every call: queue reads and one transaction take well under a second.
TIMEOUT_SECONDS = 15
MEMORY_MB = 512


def review_code() -> lambda_.Code:
    """`review/` and `contracts/` as one asset, hashed by what is staged: a change to either redeploys."""
    return lambda_.Code.from_asset(
        str(REVIEW_DIR),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=local_bundling(
            lambda output_dir: copy_folders(ASSET_FOLDERS, output_dir), cdk.BundlingOutput.NOT_ARCHIVED
        ),
    )


class ReviewFunction(Construct):
    """The Lambda behind the review API: the queue, resolutions, and the page's files."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Mapping[str, str],
        log_retention_days: int,
        log_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=RETENTION_BY_DAYS[log_retention_days], removal_policy=log_removal_policy
        )
        # A role of its own: its log group only, not the managed AWSLambdaBasicExecutionRole policy.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Binventory review Lambda",
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
            description="The review queue of flagged bins, their resolution, and the reviewers' page",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            code=review_code(),
            handler=HANDLER,
            layers=[powertools],
            role=self.role,
            memory_size=MEMORY_MB,
            timeout=cdk.Duration.seconds(TIMEOUT_SECONDS),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment=dict(environment),
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
            "Pinned to Python 3.12: the runtime the handler is tested on, matching the Powertools layer.",
        )

    def _skip_checkov_checks_that_do_not_apply(self) -> None:
        for check_id, reason in (
            (
                "CKV_AWS_116",
                "Invoked only by API Gateway, synchronously, with a person waiting for the answer: a Lambda "
                "DLQ applies to asynchronous invocations and would hold requests no one retries.",
            ),
            (
                "CKV_AWS_117",
                "Calls only AWS APIs (DynamoDB, EventBridge; S3 URLs are signed locally) and no private "
                "resource; a VPC would add NAT or interface endpoints for no access it needs.",
            ),
            (
                "CKV_AWS_115",
                "The HTTP API's stage throttles requests before they reach the function; reserving "
                "concurrency would take it from the account's unreserved pool, which fails on new accounts.",
            ),
            (
                "CKV_AWS_173",
                "The environment holds only resource names, the group name and the public sign-in URL and "
                "client id, no secrets; Lambda encrypts it at rest with its service key.",
            ),
        ):
            checkov.skip(self.function, check_id, reason)
        checkov.skip(
            self.log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; these logs hold bin ids, record keys and "
            "reviewer names and no secrets, so a customer key would add cost and a key policy only.",
        )
