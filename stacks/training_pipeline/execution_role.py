"""The IAM roles SageMaker assumes: one per job (training and tuning, serving, batch transform).

Each role gets only its job's logs, metrics and image pulls here; its S3 access is granted where the buckets
meet it (the training stack). A role shared by every job would let serving code read the training data and
overwrite a served model; with one per job, the endpoint's role reads its model archives and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import nag
from stacks.training_pipeline.container_images import ContainerImage


class SageMakerExecutionRole(Construct):
    """One job's role: its log group, its metrics namespace and its image pulls.

    `jobs` are SageMaker's log group suffixes for the job (`TrainingJobs`, `Endpoints`, `TransformJobs`, and
    `ProcessingJobs` for a training job's profiler rules). The
    trust policy lets SageMaker assume the role only for this account's resources (aws:SourceAccount), so
    another account's SageMaker job cannot be handed it (the confused-deputy guard in the IAM guide).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        images: Sequence[ContainerImage],
        jobs: Sequence[str],
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=description,
        )
        log_groups = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/sagemaker/{job}*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for job in jobs
        ]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=log_groups,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringLike": {
                        "cloudwatch:namespace": [
                            namespace
                            for job in jobs
                            for namespace in (f"/aws/sagemaker/{job}*", f"aws/sagemaker/{job}*")
                        ]
                    }
                },
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
        for job, log_group in zip(jobs, log_groups, strict=True):
            nag.acknowledge_wildcard_resource(
                self.role,
                log_group,
                f"SageMaker writes one log stream per job or instance in /aws/sagemaker/{job}, named at run "
                "time; the statement is limited to that log group.",
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
