"""The SageMaker endpoint that serves CountNet: a model package behind a serverless or real-time endpoint.

The endpoint has a stable name, so the Lambda's configuration and IAM never change; its model and
configuration are unnamed, so deploying a new model package replaces them and SageMaker switches the
endpoint over blue/green. Until a model package exists (a fresh account), only the name is reserved.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from contracts import stack_outputs
from contracts.deployment_settings import Settings
from stacks import checkov

VARIANT_NAME = "AllTraffic"


def endpoint_name(stage: str) -> str:
    """`dev` -> `binventory-dev-counter`: known to the Lambda and the CLI before the endpoint exists."""
    return f"binventory-{stage}-counter"


# Synth cannot know a package's approval status offline; CloudFormation's CreateModel then fails.
APPROVAL_NOTE = (
    "SageMaker deploys only an Approved model package: approve a pending version first "
    "(`aws sagemaker update-model-package --model-package-arn <ARN> --model-approval-status Approved`, "
    "or `binventory model promote <version>` once the endpoint exists)."
)


def deploy_command(stage: str) -> str:
    """The one command that puts a published (Approved) model package behind the endpoint."""
    stack = stack_outputs.stack_name(stage, "counting")
    return f"npx cdk deploy {stack} -c model_package_arn=<ModelPackageArn of an Approved version>"


class EndpointConstruct(Construct):
    """Model, endpoint configuration and endpoint, when `settings.model_package_arn` names a model."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        execution_role: iam.IRole,
        artifacts_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name(settings.stage)
        self.endpoint_arn = cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="endpoint", resource_name=self.endpoint_name
        )
        self.model: sagemaker.CfnModel | None = None
        self.endpoint: sagemaker.CfnEndpoint | None = None
        if settings.model_package_arn is None:
            cdk.Annotations.of(self).add_info(
                f"No model_package_arn is set, so endpoint {self.endpoint_name} is not deployed yet. "
                f"Train a model, then run: {deploy_command(settings.stage)}. {APPROVAL_NOTE}"
            )
            return
        cdk.Annotations.of(self).add_info(f"Deploying {settings.model_package_arn}. {APPROVAL_NOTE}")

        # A single container is the primary one, as the SageMaker SDK writes it (Containers: pipelines).
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=settings.model_package_arn
            ),
        )
        checkov.skip(
            self.model,
            "CKV_AWS_370",
            'The endpoint contract accepts {"s3_uri": ...} requests that the container reads from S3 '
            "itself, which network isolation would block (docs/ARCHITECTURE.md, Endpoint contract).",
        )
        endpoint = settings.endpoint
        if endpoint.serverless:
            variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=endpoint.serverless_max_concurrency,
                    memory_size_in_mb=endpoint.serverless_memory_mb,
                ),
            )
        else:
            variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.model.attr_model_name,
                instance_type=endpoint.instance_type,
                initial_instance_count=endpoint.min_instances,
                initial_variant_weight=1.0,
            )
        config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[variant],
            data_capture_config=self._data_capture(settings, artifacts_bucket)
            if endpoint.data_capture
            else None,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=config.attr_endpoint_config_name,
        )
        if not endpoint.serverless:
            self._autoscale(settings)

    def _data_capture(
        self, settings: Settings, artifacts_bucket: s3.IBucket
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=settings.endpoint.data_capture_sampling_percent,
            destination_s3_uri=f"s3://{artifacts_bucket.bucket_name}/{stack_outputs.ARTIFACTS_DATA_CAPTURE_PREFIX}",
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
        )

    def _autoscale(self, settings: Settings) -> None:
        """Scale instances to keep invocations per instance near the configured target."""
        assert self.endpoint is not None
        target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=settings.endpoint.min_instances,
            max_capacity=settings.endpoint.max_instances,
        )
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=settings.endpoint.target_invocations_per_instance,
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=cdk.Duration.minutes(5),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Allow invoking this endpoint, and nothing else, by its stable name (deployed or not)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )
