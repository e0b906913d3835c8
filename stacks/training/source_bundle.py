"""The training source (`model_code/`) as the tar.gz that SageMaker's `sagemaker_submit_directory` names.

Packed in-process during synth (no Docker): a local bundler writes a reproducible archive, and
CDK uploads it as a file asset at deploy time.
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

MODEL_CODE_DIR = Path(__file__).resolve().parents[2] / "model_code"
ARCHIVE_NAME = "sourcedir.tar.gz"
# Caches and editor litter never reach the training container (and never change the asset hash).
EXCLUDED = ("__pycache__", "*.pyc", ".pytest_cache", ".DS_Store")


def _excluded(relative: Path) -> bool:
    return any(relative.match(pattern) or pattern in relative.parts for pattern in EXCLUDED)


def write_source_archive(source: Path, archive: Path) -> list[str]:
    """Write `source` as a gzipped tar with fixed timestamps and owners; return the archived names.

    Same files in, same bytes out, so an unchanged `model_code/` never re-uploads.
    """
    names: list[str] = []
    files = sorted(
        path for path in source.rglob("*") if path.is_file() and not _excluded(path.relative_to(source))
    )
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in files:
            name = path.relative_to(source).as_posix()
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            with path.open("rb") as content:
                tar.addfile(info, content)
            names.append(name)
    return names


@jsii.implements(cdk.ILocalBundling)
class _SourceArchiver:
    """Local bundler: CDK calls it instead of Docker and takes the single archive it writes."""

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, _options: cdk.BundlingOptions) -> bool:
        write_source_archive(self._source, Path(output_dir) / ARCHIVE_NAME)
        return True


class TrainingSourceBundle(Construct):
    """`model_code/` uploaded to the CDK asset bucket as one tar.gz."""

    def __init__(self, scope: Construct, construct_id: str, *, source: Path = MODEL_CODE_DIR) -> None:
        super().__init__(scope, construct_id)
        self.asset = s3_assets.Asset(
            self,
            "Archive",
            path=str(source),
            exclude=list(EXCLUDED),
            bundling=cdk.BundlingOptions(
                # Never pulled: the local bundler always succeeds, so Docker is not needed.
                image=cdk.DockerImage.from_registry("none"),
                local=_SourceArchiver(source),
                output_type=cdk.BundlingOutput.ARCHIVED,
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
