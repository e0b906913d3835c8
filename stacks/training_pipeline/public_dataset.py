"""The public ABID bucket, which manifest channels point training jobs at: read access to its two prefixes.

Only the two prefixes ABID publishes, `bin-images/` and `metadata/`, and only reads: `s3:GetObject` on
their objects, and listing restricted to those prefixes (so a key a manifest names but the bucket lacks
is reported as missing, not as access denied).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts import stack_outputs
from stacks import nag

PUBLIC_PREFIXES = (stack_outputs.PUBLIC_IMAGES_PREFIX, stack_outputs.PUBLIC_METADATA_PREFIX)


class PublicAbidDataset(Construct):
    """The Registry of Open Data bucket `aft-vbi-pds`, imported by name (nothing is deployed for it)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket.from_bucket_name(self, "Bucket", stack_outputs.PUBLIC_DATASET_BUCKET)

    def grant_read(self, role: iam.Role) -> None:
        """Let `role` read the public ABID bucket's images and metadata, and nothing else there."""
        object_arns = [self.bucket.arn_for_objects(f"{prefix}*") for prefix in PUBLIC_PREFIXES]
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=object_arns))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in PUBLIC_PREFIXES]}},
            )
        )
        for arn in object_arns:
            nag.acknowledge_wildcard_resource(
                role,
                arn,
                "Manifest training channels read any of the public ABID bucket's ~536K images (and labelling "
                "reads its metadata); object keys are only known per manifest, and the grant is limited to "
                "those two published prefixes of that one bucket, read-only.",
            )
