"""cdk-nag wiring: run the AWS Solutions checks on the whole app, and record reasoned acknowledgments.

Findings fail `cdk synth`. An acknowledgment names one finding (`AwsSolutions-IAM5[Resource::...]`)
on one construct and carries a reason a reviewer can check against the code beside it.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct, IValidation


def enable_checks(app: cdk.App) -> None:
    """Validate every stack of `app` against the AWS Solutions rule pack during synthesis."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Accept one cdk-nag finding on `scope` (and the constructs under it) for a stated reason."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))


def acknowledge_wildcard_resource(scope: IConstruct, resource_arn: str, reason: str) -> None:
    """Accept the IAM5 finding cdk-nag raises for `resource_arn` (an ARN with `*`) in `scope`'s policies.

    The finding names the ARN in its final template form, which for a cross-stack reference exists
    only once CDK has resolved references during synthesis; construct validation runs right after
    that and before cdk-nag, so the acknowledgment is recorded then.
    """
    scope.node.add_validation(_WildcardResourceAcknowledgment(scope, resource_arn, reason))


@jsii.implements(IValidation)
class _WildcardResourceAcknowledgment:
    def __init__(self, scope: IConstruct, resource_arn: str, reason: str) -> None:
        self._scope = scope
        self._resource_arn = resource_arn
        self._reason = reason

    def validate(self) -> list[str]:
        finding = f"AwsSolutions-IAM5[Resource::{flatten_reference(self._scope, self._resource_arn)}]"
        acknowledge(self._scope, finding, self._reason)
        return []


def flatten_reference(scope: IConstruct, value: str) -> str:
    """Render a (token) string the way cdk-nag names it in finding ids, e.g. `<Bucket1234.Arn>/*`."""
    return _flatten(cdk.Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)
