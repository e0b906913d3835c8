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
from aws_cdk import custom_resources as cr
from constructs import Construct

from contracts import stack_outputs
from contracts.deployment_settings import Settings
from stacks import checkov, nag, served_model

VARIANT_NAME = "AllTraffic"
SCALE_IN_COOLDOWN_MINUTES = 5
SCALE_OUT_COOLDOWN_MINUTES = 1
# What (de)registering a SageMaker variant and putting its target-tracking policy need (Application Auto
# Scaling guide, "Identity-based policy examples": SageMaker endpoints; the policy's alarms are CloudWatch's).
SCALING_ACTIONS = [
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
]


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
    """Model, endpoint configuration and endpoint, serving the package `-c model_package_arn` names or,
    without it, the package recorded in the served-model parameter (`stacks/served_model.py`).

    Without `-c`, every endpoint resource carries the condition `ServesModel`: the parameter names a package
    (not `none`). So a stage that serves a model keeps serving it on a plain deploy, and a fresh stage deploys
    everything else until a model is recorded.
    """

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
        self.serving_condition: cdk.CfnCondition | None = None
        if settings.model_package_arn is None:
            package_arn = self._recorded_package(settings)
            cdk.Annotations.of(self).add_info(
                f"No model_package_arn is set: endpoint {self.endpoint_name} serves the package recorded in "
                f"SSM parameter {stack_outputs.served_model_parameter(settings.stage)} (written by "
                f"`binventory model promote`), and is not deployed while that says "
                f"'{stack_outputs.NO_SERVED_MODEL}'. First model: {deploy_command(settings.stage)}. "
                + APPROVAL_NOTE
            )
        else:
            package_arn = settings.model_package_arn
            served_model.record_served_package(
                self, "RecordServedPackage", stage=settings.stage, package_arn=package_arn
            )
            cdk.Annotations.of(self).add_info(f"Deploying {package_arn}. {APPROVAL_NOTE}")

        # A single container is the primary one, as the SageMaker SDK writes it (Containers: pipelines).
        # Network isolation: the container reaches nothing, so no request can make it read our buckets.
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=package_arn),
            enable_network_isolation=True,
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
        if self.serving_condition is not None:
            self.apply_serving_condition(self)

    def _recorded_package(self, settings: Settings) -> str:
        """The recorded package, read by CloudFormation when it deploys, and the condition that it is one."""
        parameter = cdk.CfnParameter(
            self,
            "ServedModelPackage",
            type="AWS::SSM::Parameter::Value<String>",
            default=stack_outputs.served_model_parameter(settings.stage),
            description="SSM parameter naming the model package the endpoint serves "
            "(binventory model promote writes it)",
        )
        self.serving_condition = cdk.CfnCondition(
            self,
            "ServesModel",
            expression=cdk.Fn.condition_not(
                cdk.Fn.condition_equals(parameter.value_as_string, stack_outputs.NO_SERVED_MODEL)
            ),
        )
        return parameter.value_as_string

    def apply_serving_condition(self, scope: Construct) -> None:
        """Deploy each CloudFormation resource under `scope` only while a model is served (no-op with -c)."""
        if self.serving_condition is None:
            return
        for construct in scope.node.find_all():
            if isinstance(construct, cdk.CfnResource) and construct.cfn_options.condition is None:
                construct.cfn_options.condition = self.serving_condition

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
        """Scale instances to keep invocations per instance near the configured target.

        SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered with
        Application Auto Scaling (SageMaker guide, "Update endpoints that use auto scaling"): deregister,
        update, register again. CloudFormation knows nothing of that, so the stack does it in that order
        whenever the instance type changes: `ReleaseScaling` (the endpoint depends on it) deregisters the
        variant, the endpoint updates, then `RestoreScaling` registers the variant again and puts the same
        policy back. They are SDK calls whose physical id names the instance type, so they run exactly when
        it changes; when the stack is created they only read (`DescribeScalableTargets`), and
        CloudFormation's own target and policy register the variant.
        """
        endpoint = settings.endpoint
        dimension = "sagemaker:variant:DesiredInstanceCount"
        resource_id = f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}"
        target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=resource_id,
            scalable_dimension=dimension,
            min_capacity=endpoint.min_instances,
            max_capacity=endpoint.max_instances,
        )
        target.node.add_dependency(self.endpoint)
        policy = target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=endpoint.target_invocations_per_instance,
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=cdk.Duration.minutes(SCALE_IN_COOLDOWN_MINUTES),
            scale_out_cooldown=cdk.Duration.minutes(SCALE_OUT_COOLDOWN_MINUTES),
        )
        variant = {"ServiceNamespace": "sagemaker", "ResourceId": resource_id, "ScalableDimension": dimension}
        look = cr.AwsSdkCall(
            service="ApplicationAutoScaling",
            action="describeScalableTargets",
            parameters={"ServiceNamespace": "sagemaker", "ResourceIds": [resource_id]},
            physical_resource_id=cr.PhysicalResourceId.of(f"{resource_id}@{endpoint.instance_type}"),
        )

        def on_type_change(action: str, parameters: dict[str, object]) -> cr.AwsSdkCall:
            return cr.AwsSdkCall(
                service="ApplicationAutoScaling",
                action=action,
                parameters=parameters,
                physical_resource_id=cr.PhysicalResourceId.of(f"{resource_id}@{endpoint.instance_type}"),
                ignore_error_codes_matching="ObjectNotFoundException",
            )

        policy_name = cdk.Stack.of(self).resolve(policy.node.default_child.policy_name)
        steps = (
            ("ReleaseScaling", on_type_change("deregisterScalableTarget", variant)),
            (
                "RestoreScaling",
                on_type_change(
                    "registerScalableTarget",
                    {**variant, "MinCapacity": endpoint.min_instances, "MaxCapacity": endpoint.max_instances},
                ),
            ),
            (
                "RestoreScalingPolicy",
                on_type_change(
                    "putScalingPolicy",
                    {
                        **variant,
                        "PolicyName": policy_name,
                        "PolicyType": "TargetTrackingScaling",
                        "TargetTrackingScalingPolicyConfiguration": {
                            "TargetValue": endpoint.target_invocations_per_instance,
                            "PredefinedMetricSpecification": {
                                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                            },
                            "ScaleInCooldown": SCALE_IN_COOLDOWN_MINUTES * 60,
                            "ScaleOutCooldown": SCALE_OUT_COOLDOWN_MINUTES * 60,
                        },
                    },
                ),
            ),
        )
        previous: Construct = self.endpoint
        for construct_id, call in steps:
            step = cr.AwsCustomResource(
                self,
                construct_id,
                on_create=look,
                on_update=call,
                policy=cr.AwsCustomResourcePolicy.from_statements(self._scaling_statements()),
                install_latest_aws_sdk=False,
            )
            if construct_id == "ReleaseScaling":
                self.endpoint.node.add_dependency(step)
            else:
                step.node.add_dependency(previous, target, policy)
                previous = step
            checkov.skip(
                step.node.find_child("CustomResourcePolicy"),
                "CKV_AWS_111",
                "Application Auto Scaling's (de)register and put-policy calls support no resource ARN that "
                "synth can know (scalable targets have generated ids); SageMaker and CloudWatch writes are "
                "limited to this endpoint and its target-tracking alarms.",
            )
        served_model.acknowledge_sdk_call_provider(self)
        nag.acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "Application Auto Scaling names scalable targets by generated ids, so its calls (and the"
            " SageMaker, CloudWatch calls it makes for the caller) cannot be limited to one variant by ARN.",
        )

    def _scaling_statements(self) -> list[iam.PolicyStatement]:
        stack = cdk.Stack.of(self)
        alarms = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"TargetTracking-endpoint/{self.endpoint_name}/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        configs = stack.format_arn(service="sagemaker", resource="endpoint-config", resource_name="*")
        nag.acknowledge_wildcard_resource(
            self,
            configs,
            "Registering the variant, Application Auto Scaling reads the endpoint's current configuration, "
            "whose name CloudFormation generates; read-only.",
        )
        nag.acknowledge_wildcard_resource(
            self,
            alarms,
            "The target-tracking policy's alarms are named by Application Auto Scaling after this endpoint's "
            "variant (TargetTracking-endpoint/<name>/...); limited to that prefix.",
        )
        return [
            iam.PolicyStatement(actions=SCALING_ACTIONS, resources=["*"]),
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                resources=[self.endpoint_arn],
            ),
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpointConfig"],
                resources=[
                    stack.format_arn(service="sagemaker", resource="endpoint-config", resource_name="*")
                ],
            ),
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"], resources=[alarms]
            ),
        ]

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Allow invoking this endpoint, and nothing else, by its stable name (deployed or not)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )
