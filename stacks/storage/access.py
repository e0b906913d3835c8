"""Explicit, prefix-scoped S3 grants (the L2 `grant_read` adds wildcard actions such as `s3:List*`).

Object ARNs necessarily end in `*`; each grant states why its grantee needs those objects, and that
reason becomes the cdk-nag acknowledgment of the wildcard.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import nag

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")


def grant_read_objects(
    bucket: s3.IBucket, grantee: iam.IGrantable, *, reason: str, prefixes: Sequence[str] = ("",)
) -> None:
    """Read objects (any version) under `prefixes`, and list the bucket.

    Listing matters beyond listing: without `s3:ListBucket`, S3 answers a missing key with 403
    instead of 404, and callers could not tell a deleted object from a permission problem.
    """
    _grant(bucket, grantee, READ_ACTIONS, prefixes, reason)
    iam.Grant.add_to_principal(grantee=grantee, actions=["s3:ListBucket"], resource_arns=[bucket.bucket_arn])


def grant_write_objects(
    bucket: s3.IBucket, grantee: iam.IGrantable, *, reason: str, prefixes: Sequence[str]
) -> None:
    """Write (and abort multipart uploads of) objects under `prefixes` only."""
    _grant(bucket, grantee, WRITE_ACTIONS, prefixes, reason)


def _grant(
    bucket: s3.IBucket, grantee: iam.IGrantable, actions: Sequence[str], prefixes: Sequence[str], reason: str
) -> None:
    object_arns = [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]
    iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=object_arns)
    principal = grantee.grant_principal
    if not isinstance(principal, Construct):
        raise TypeError(f"grant S3 access to a role defined in this app, not {principal!r}")
    for arn in object_arns:
        nag.acknowledge_wildcard_resource(principal, arn, reason)
