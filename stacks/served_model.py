"""Where the served model package is recorded: an SSM parameter CloudFormation reads at every deploy.

`binventory model promote` and `rollback` change the endpoint outside CloudFormation. If the counting stack
named its model only from `-c model_package_arn`, the next deploy that forgot the flag would roll the endpoint
back or delete it. Instead the stack serves what the parameter names (`contracts.stack_outputs`), and each
way of choosing a model writes it: promote, rollback, and a deploy with `-c model_package_arn`.

The parameter is written by SDK calls (CDK's `AwsCustomResource`), never owned as an `AWS::SSM::Parameter`:
CloudFormation would write its template value back over a promotion whenever that resource updated.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import custom_resources as cr
from constructs import Construct

from contracts import stack_outputs
from stacks import checkov, nag

# CDK's provider for AwsCustomResource: one Lambda per stack (fixed construct id, a SingletonFunction).
SDK_CALL_PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
_SDK_CALL_PROVIDER_SKIPS = (
    (
        "CKV_AWS_116",
        "CloudFormation waits for its answer and rolls the deployment back when it fails, so a dead-letter "
        "queue would only hold a deployment event no one processes.",
    ),
    ("CKV_AWS_117", "it calls only the SSM and Application Auto Scaling APIs, no private resource."),
    (
        "CKV_AWS_115",
        "it runs once per deployment change; reserving concurrency for it would only shrink the account's "
        "unreserved pool.",
    ),
    ("CKV_AWS_173", "CDK's handler has no environment variables of ours: nothing secret to encrypt."),
)


def parameter_arn(scope: Construct, stage: str) -> str:
    name = stack_outputs.served_model_parameter(stage)
    return cdk.Stack.of(scope).format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))


class ServedModelRecord(Construct):
    """Creates the parameter holding `none` where it does not exist yet, and never touches it again."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        name = stack_outputs.served_model_parameter(stage)
        create_if_absent = cr.AwsSdkCall(
            service="SSM",
            action="putParameter",
            parameters={
                "Name": name,
                "Value": stack_outputs.NO_SERVED_MODEL,
                "Type": "String",
                "Overwrite": False,
                "Description": "Model package the counting endpoint serves (binventory model promote)",
            },
            physical_resource_id=cr.PhysicalResourceId.of(name),
            # Already there: a promotion (or an earlier stack) wrote it, and it must stay as it is.
            ignore_error_codes_matching="ParameterAlreadyExists",
        )
        self.resource = cr.AwsCustomResource(
            self,
            "CreateIfAbsent",
            on_create=create_if_absent,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[parameter_arn(self, stage)]),
            install_latest_aws_sdk=False,
        )
        acknowledge_sdk_call_provider(self)


def record_served_package(scope: Construct, construct_id: str, *, stage: str, package_arn: str) -> None:
    """Write `package_arn` to the parameter when this deploy names it (`-c model_package_arn`)."""
    name = stack_outputs.served_model_parameter(stage)
    put = cr.AwsSdkCall(
        service="SSM",
        action="putParameter",
        parameters={"Name": name, "Value": package_arn, "Type": "String", "Overwrite": True},
        # A new ARN is a new physical id: CloudFormation calls the update, which writes it.
        physical_resource_id=cr.PhysicalResourceId.of(f"{name}={package_arn}"),
    )
    cr.AwsCustomResource(
        scope,
        construct_id,
        on_create=put,
        on_update=put,
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[parameter_arn(scope, stage)]),
        install_latest_aws_sdk=False,
    )
    acknowledge_sdk_call_provider(scope)


def acknowledge_sdk_call_provider(scope: Construct) -> None:
    """CDK's AwsCustomResource Lambda: its managed logging policy, and the checks that do not apply."""
    stack = cdk.Stack.of(scope)
    provider = stack.node.try_find_child(SDK_CALL_PROVIDER_ID)
    if provider is None or provider.node.default_child.get_metadata("checkov"):
        return  # acknowledged by the stack's first SDK call
    for check_id, reason in _SDK_CALL_PROVIDER_SKIPS:
        checkov.skip(provider, check_id, f"CDK's AwsCustomResource handler: {reason}")
    log_group = provider.node.try_find_child("LogGroup")
    if log_group is not None:
        checkov.skip(
            log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; CDK's handler logs only the SDK calls it "
            "makes during deployments (parameter names, variant ids), no secrets.",
        )
    nag.acknowledge(
        provider,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's AwsCustomResource handler attaches this policy for its own logs; it runs only while a "
        "deployment changes one of its calls, and CDK offers no way to replace its role.",
    )
