"""Fingerprints of what a training run depends on, so a checkpoint resumes only the run that wrote it.

A checkpoint carries the hyperparameters, the fingerprint of the code (every source file of `countnet`,
`contracts` and train.py) and of the data (each photo's id, count and file size, per split); a run whose
code, data or hyperparameters differ starts afresh instead of shipping weights trained for something else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import contracts
import countnet
from countnet.data import Sample

SOURCE_SUFFIXES = (".py", ".json")


def _source_files() -> list[Path]:
    packages = [Path(countnet.__file__).parent, Path(contracts.__file__).parent]
    files = [
        path for package in packages for path in sorted(package.rglob("*")) if path.suffix in SOURCE_SUFFIXES
    ]
    train_script = Path(countnet.__file__).parent.parent / "train.py"
    return [*files, *([train_script] if train_script.is_file() else [])]


def code_fingerprint() -> str:
    """sha256 over the training code's file names and bytes."""
    digest = hashlib.sha256()
    for path in _source_files():
        if "__pycache__" in path.parts:
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def data_fingerprint(samples: Iterable[Sample]) -> str:
    """sha256 over each photo's id, count and file size (a changed label or re-encoded file changes it)."""
    digest = hashlib.sha256()
    for sample in sorted(samples, key=lambda s: s.image_id):
        size = sample.path.stat().st_size if sample.path.exists() else -1
        digest.update(f"{sample.image_id},{sample.count},{size}\n".encode())
    return digest.hexdigest()
