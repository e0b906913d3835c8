"""The training source as the tar.gz that SageMaker's `sagemaker_submit_directory` names.

`model_code/` (train.py at the root, countnet/) with `contracts/` beside train.py, so the training
container imports the recipe, the split and the metric lines from the same files every other part reads.
Packed in-process during synth (no Docker): a local bundler writes a reproducible archive, and CDK
uploads it as a file asset at deploy time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.local_bundling import CONTRACTS_DIR, REPO_ROOT, local_bundling, write_archive

MODEL_CODE_DIR = REPO_ROOT / "model_code"
ARCHIVE_NAME = "sourcedir.tar.gz"


def write_source_archive(
    source: Path, archive: Path, *, beside: Mapping[str, Path] | None = None
) -> list[str]:
    """Write `source` (at the archive's root) and the `beside` folders (under their names) as a
    reproducible gzipped tar; return the archived names. Same files in, same bytes out, so an unchanged
    source never re-uploads."""
    return write_archive({"": source, **(beside or {})}, archive)


class TrainingSourceBundle(Construct):
    """`model_code/` and `contracts/` uploaded to the CDK asset bucket as one tar.gz."""

    def __init__(self, scope: Construct, construct_id: str, *, source: Path = MODEL_CODE_DIR) -> None:
        super().__init__(scope, construct_id)
        beside = {"contracts": CONTRACTS_DIR}
        self.asset = s3_assets.Asset(
            self,
            "Archive",
            path=str(source),
            # Hashed by the archive itself: a change to model_code/ or to contracts/ uploads a new source.
            asset_hash_type=cdk.AssetHashType.OUTPUT,
            bundling=local_bundling(
                lambda output_dir: write_source_archive(source, output_dir / ARCHIVE_NAME, beside=beside),
                cdk.BundlingOutput.ARCHIVED,
            ),
        )

    @property
    def s3_uri(self) -> str:
        """`s3://<asset bucket>/<hash>.tar.gz`, the value of `sagemaker_submit_directory`."""
        return self.asset.s3_object_url

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` download exactly this archive (not the rest of the asset bucket)."""
        stack = cdk.Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[
                f"arn:{stack.partition}:s3:::{self.asset.s3_bucket_name}/{self.asset.s3_object_key}"
            ],
        )
