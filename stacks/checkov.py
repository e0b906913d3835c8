"""checkov suppressions, written into the synthesized template beside the resource they concern.

checkov (the independent IaC scan the stack tests run) reads `Metadata.checkov.skip` on each
resource. As with cdk-nag acknowledgments, a skip names one check on one resource and says why
the check does not apply there; everything else is fixed in the construct instead.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

# Why the Lambda checks do not apply to the custom-resource handlers CDK adds (bucket notifications,
# auto-deleting objects): CloudFormation invokes them only while a deployment changes those resources.
CDK_HANDLER_CHECKOV_SKIPS = (
    (
        "CKV_AWS_116",
        "CloudFormation waits for its answer and rolls the deployment back when it fails, so a dead-letter "
        "queue would only hold a deployment event no one processes.",
    ),
    ("CKV_AWS_117", "it calls only S3's API during deployments and reaches no private resource."),
    (
        "CKV_AWS_115",
        "it runs once per deployment change; reserving concurrency for it would only shrink the account's "
        "unreserved pool.",
    ),
)


def skip(scope: IConstruct, check_id: str, reason: str) -> None:
    """Tell checkov that `check_id` does not apply to `scope`'s CloudFormation resource, and why."""
    resource = scope if isinstance(scope, cdk.CfnResource) else scope.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{scope.node.path} has no single CloudFormation resource to annotate for {check_id}")
    skips = (resource.get_metadata("checkov") or {}).get("skip", [])
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check_id, "comment": reason}]})
