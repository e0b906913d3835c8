"""The IAM role SageMaker assumes for training jobs, tuning trials, the endpoint model, batch transform."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import nag
from stacks.training_pipeline.container_images import ContainerImage


class SageMakerExecutionRole(Construct):
    """Logs, metrics and image pulls; S3 access is granted where the buckets meet it (the stack)."""

    def __init__(self, scope: Construct, construct_id: str, *, images: Sequence[ContainerImage]) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Binventory SageMaker jobs and models",
        )
        log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_groups],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=sorted({image.repository_arn(stack.partition) for image in images}),
            )
        )
        nag.acknowledge_wildcard_resource(
            self.role,
            log_groups,
            "SageMaker writes to one log group per job type (/aws/sagemaker/TrainingJobs, Endpoints, "
            "TransformJobs) and one stream per job; the statement is limited to the /aws/sagemaker/ prefix.",
        )
        nag.acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions; "
            "PutMetricData is limited to SageMaker namespaces by condition.",
        )

    def grant_pass_to_sagemaker(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` hand this role to SageMaker (its jobs and models run as it), and to nothing else."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
