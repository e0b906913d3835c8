"""Assets built in-process during synth (no Docker): the repository's own folders, copied or packed.

A runtime gets its code and the `contracts/` package beside it (the Lambda asset, the SageMaker training
source). CDK calls a local bundler instead of Docker, and the asset's hash is taken from what the
bundler wrote, so a change to either folder changes the asset and redeploys it.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import aws_cdk as cdk
import jsii

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
# Tests, caches and editor litter never reach a runtime (and never change an asset's hash).
EXCLUDED = ("tests", "__pycache__", "*.pyc", ".pytest_cache", ".DS_Store")


def _excluded(relative: Path) -> bool:
    return any(relative.match(pattern) or pattern in relative.parts for pattern in EXCLUDED)


def asset_files(folders: Mapping[str, Path]) -> dict[str, Path]:
    """Name in the asset -> file, for every file of each folder, under the folder's name ("" for the root)."""
    files: dict[str, Path] = {}
    for prefix, folder in folders.items():
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not _excluded(relative):
                files[(Path(prefix) / relative).as_posix()] = path
    return dict(sorted(files.items()))


def copy_folders(folders: Mapping[str, Path], output_dir: Path) -> list[str]:
    """Copy each folder's files into `output_dir` under the folder's name; return the names copied."""
    files = asset_files(folders)
    for name, path in files.items():
        target = output_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return list(files)


def write_archive(folders: Mapping[str, Path], archive: Path) -> list[str]:
    """Write the folders' files as a gzipped tar with fixed timestamps and owners; return the names.

    Same files in, same bytes out, so unchanged folders never re-upload.
    """
    files = asset_files(folders)
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, path in files.items():
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            with path.open("rb") as content:
                tar.addfile(info, content)
    return list(files)


@jsii.implements(cdk.ILocalBundling)
class _LocalBundler:
    """CDK calls it instead of Docker; it writes the asset into the output folder CDK gives it."""

    def __init__(self, write: Callable[[Path], object]) -> None:
        self._write = write

    def try_bundle(self, output_dir: str, _options: cdk.BundlingOptions) -> bool:
        self._write(Path(output_dir))
        return True


def local_bundling(write: Callable[[Path], object], output_type: cdk.BundlingOutput) -> cdk.BundlingOptions:
    """Bundling options that run `write(output_dir)` in this process; Docker is never needed."""
    return cdk.BundlingOptions(
        # Never pulled: the local bundler always succeeds.
        image=cdk.DockerImage.from_registry("none"),
        local=_LocalBundler(write),
        output_type=output_type,
    )
