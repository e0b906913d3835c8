"""A role's policy statements, read from the synthesized templates with the names a test deployed.

CloudFormation names the buckets and tables at deploy time; a test names them itself (in moto). `Deployment`
resolves every intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::GetStackOutput, Fn::ImportValue,
Fn::Select, Fn::Split) with those names, so the statements can be matched against the ARNs of the calls
the test recorded. A resource the test does not name keeps its logical id as its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iam_check.evaluation import Statement
from iam_check.requests import ACCOUNT, PARTITION

_CDK_PATH = "aws:cdk:path"
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")


class UnresolvableTemplate(ValueError):
    """The template uses something the resolver cannot turn into a string; extend the resolver."""


@dataclass(frozen=True)
class RolePolicy:
    """Everything that grants or denies a role's requests, with the role's ARN for messages."""

    role_path: str
    role_arn: str
    statements: tuple[Statement, ...]
    # For resource policies: the principal whose requests they decide (e.g. "Service:events.amazonaws.com").
    principal: str | None = None

    @property
    def name(self) -> str:
        return f"{self.role_path} ({self.role_arn})"


@dataclass
class Deployment:
    """The synthesized stacks of one app, deployed under the names `names` gives.

    `names` maps a construct path below the stack (`Tables/Inventory`, `Buckets/Ingest`) to the physical
    name the test created the resource under.
    """

    templates: Mapping[str, Mapping[str, Any]]  # stack name -> template
    names: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = ACCOUNT

    def role_policy(self, role_path: str) -> RolePolicy:
        """The statements of every policy attached to the role at `role_path` (e.g. `Counter/Role`)."""
        stack, logical_id = self._find(role_path, "AWS::IAM::Role")
        role = self.templates[stack]["Resources"][logical_id]
        role_name = self._physical_name(stack, logical_id)
        statements: list[Statement] = []
        for policy in role["Properties"].get("Policies", []):
            statements += self._statements(stack, policy["PolicyDocument"], f"{role_path} inline")
        managed = role["Properties"].get("ManagedPolicyArns", [])
        if managed:
            raise UnresolvableTemplate(
                f"{role_path} has managed policies {managed}: their documents are not in the templates"
            )
        for other_stack, template in self.templates.items():
            for policy_id, resource in template["Resources"].items():
                if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    continue
                attached = resource["Properties"].get("Roles", [])
                roles = [self.resolve(other_stack, entry) for entry in attached]
                if role_name in roles:
                    document = resource["Properties"]["PolicyDocument"]
                    statements += self._statements(other_stack, document, f"{other_stack}/{policy_id}")
        return RolePolicy(role_path, self.role_arn(role_path), tuple(statements))

    def resource_policies(self, principal: str, *paths: str) -> RolePolicy:
        """What the resource policies of the resources at `paths` (topic, key, bucket, queue) let
        `principal` (`Service:events.amazonaws.com`) do: the only grants a service principal has."""
        statements: list[Statement] = []
        for path in paths:
            stack, logical_id = self._find(path, None)
            template = self.templates[stack]
            resource = template["Resources"][logical_id]
            if resource["Type"] == "AWS::KMS::Key":
                statements += self._statements(
                    stack, resource["Properties"]["KeyPolicy"], f"{path} key policy"
                )
                continue
            attached = _RESOURCE_POLICIES.get(resource["Type"])
            if attached is None:
                raise UnresolvableTemplate(
                    f"{resource['Type']} at {path}: add its policy type to _RESOURCE_POLICIES"
                )
            policy_type, key = attached
            reference = self.resolve(stack, {"Ref": logical_id})
            for policy_id, policy in template["Resources"].items():
                targets = policy.get("Properties", {}).get(key, [])
                targets = self.resolve(stack, targets if isinstance(targets, list) else [targets])
                if policy["Type"] == policy_type and reference in targets:
                    document = policy["Properties"]["PolicyDocument"]
                    statements += self._statements(stack, document, f"{stack}/{policy_id}")
        return RolePolicy(f"{principal} through {', '.join(paths)}", principal, tuple(statements), principal)

    def role_arn(self, role_path: str) -> str:
        stack, logical_id = self._find(role_path, "AWS::IAM::Role")
        return self.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]})

    def physical_name(self, path: str) -> str:
        """The name of the resource at `path`, as `names` gives it (or its logical id)."""
        stack, logical_id = self._find(path, None)
        return self._physical_name(stack, logical_id)

    # --- intrinsics ---------------------------------------------------------------------------------
    def resolve(self, stack: str, value: Any) -> Any:
        """`value` from `stack`'s template with every intrinsic function evaluated."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {key: self.resolve(stack, item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(stack, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._attribute(stack, logical_id, attribute)
        if function == "Fn::Join":
            delimiter, parts = argument
            return delimiter.join(str(part) for part in self.resolve(stack, parts))
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(stack, items)[int(self.resolve(stack, index))]
        if function == "Fn::Split":
            delimiter, text = argument
            return self.resolve(stack, text).split(delimiter)
        if function == "Fn::GetStackOutput":
            return self._output(argument["StackName"], argument["OutputName"])
        if function == "Fn::ImportValue":
            return self._import(self.resolve(stack, argument))
        raise UnresolvableTemplate(f"{function} in {stack}: add it to tests/iam_check/templates.py")

    def _ref(self, stack: str, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }
        if name in pseudo:
            return pseudo[name]
        template = self.templates[stack]
        if name in template.get("Parameters", {}):
            return str(template["Parameters"][name].get("Default", name))
        resource_type = template["Resources"][name]["Type"]
        if resource_type in _REF_IS_ARN:
            return self._attribute(stack, name, "Arn")
        if resource_type == "AWS::SQS::Queue":
            queue = self._physical_name(stack, name)
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{queue}"
        return self._physical_name(stack, name)

    def _attribute(self, stack: str, logical_id: str, attribute: str) -> str:
        resource_type = self.templates[stack]["Resources"][logical_id]["Type"]
        name = self._physical_name(stack, logical_id)
        if attribute in ("Name", "ModelName", "EndpointConfigName", "TopicName", "QueueName"):
            return name
        if attribute != "Arn" or resource_type not in _ARN_FORMATS:
            raise UnresolvableTemplate(f"Fn::GetAtt {resource_type}.{attribute}: add it to _ARN_FORMATS")
        return _ARN_FORMATS[resource_type].format(
            partition=PARTITION, region=self.region, account=self.account, name=name
        )

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(stack, item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._attribute(stack, logical_id, attribute)
            return self._ref(stack, name)

        return _SUB_VARIABLE.sub(replace, text)

    def _output(self, stack: str, output: str) -> Any:
        return self.resolve(stack, self.templates[stack]["Outputs"][output]["Value"])

    def _import(self, export_name: str) -> Any:
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output and self.resolve(stack, output["Export"]["Name"]) == export_name:
                    return self.resolve(stack, output["Value"])
        raise UnresolvableTemplate(f"no stack exports {export_name}")

    # --- resources ----------------------------------------------------------------------------------
    def _find(self, path: str, resource_type: str | None) -> tuple[str, str]:
        found = [
            (stack, logical_id)
            for stack, template in self.templates.items()
            for logical_id, resource in template["Resources"].items()
            if (resource_type is None or resource["Type"] == resource_type)
            and _relative_path(resource) == path
        ]
        if len(found) != 1:
            raise LookupError(f"expected one {resource_type or 'resource'} at {path}, found {found}")
        return found[0]

    def _physical_name(self, stack: str, logical_id: str) -> str:
        return self.names.get(_relative_path(self.templates[stack]["Resources"][logical_id]), logical_id)

    def _statements(self, stack: str, document: Mapping[str, Any], source: str) -> list[Statement]:
        resolved = self.resolve(stack, document)
        return [Statement.from_json(statement, source) for statement in resolved["Statement"]]


def _relative_path(resource: Mapping[str, Any]) -> str:
    """`binventory-dev-storage/Tables/Inventory/Resource` -> `Tables/Inventory`."""
    path = resource.get("Metadata", {}).get(_CDK_PATH, "")
    return path.split("/", 1)[-1].removesuffix("/Resource")


# Resource type -> (the policy resource attached to it, the property naming it).
_RESOURCE_POLICIES = {
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics"),
    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket"),
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues"),
}
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"}
_ARN_FORMATS = {
    "AWS::DynamoDB::Table": "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "arn:{partition}:s3:::{name}",
    "AWS::Events::EventBus": "arn:{partition}:events:{region}:{account}:event-bus/{name}",
    "AWS::IAM::Role": "arn:{partition}:iam::{account}:role/{name}",
    "AWS::Logs::LogGroup": "arn:{partition}:logs:{region}:{account}:log-group:{name}:*",
    "AWS::SQS::Queue": "arn:{partition}:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:{partition}:sns:{region}:{account}:{name}",
    "AWS::KMS::Key": "arn:{partition}:kms:{region}:{account}:key/{name}",
    "AWS::StepFunctions::StateMachine": "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
    "AWS::Lambda::Function": "arn:{partition}:lambda:{region}:{account}:function:{name}",
}
