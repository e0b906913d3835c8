"""Ship what the SageMaker PyTorch inference container lacks inside the model directory, in `code/lib`.

The container pip-installs `code/requirements.txt` at every start. A serverless endpoint cold-starts
often, so that would mean a download on each start, and no start at all when PyPI cannot be reached.
So packaging copies the installed distributions that serving needs beyond the container's own
packages (onnxruntime and what it requires; timm only when PyTorch serves a timm backbone) from the
environment that trains into `code/lib`, and inference.py puts that folder first on sys.path.

The copies must run in the container: CPython 3.12 on x86_64 Linux with glibc 2.35 (Ubuntu 22.04).
Every copied distribution's wheel tags are checked against that, so a copy made on a Mac or from a
locally built wheel is refused with a warning, and packaging falls back to a pinned requirements.txt.
Only the standard library is imported at module level: inference.py calls `activate` before anything
else is importable.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

logger = logging.getLogger(__name__)

LIB_DIR = "lib"
MANIFEST_FILE = "vendored.json"
CONTAINER_PYTHON = (3, 12)
CONTAINER_PLATFORM = "linux-x86_64"  # sysconfig.get_platform() inside the container
CONTAINER_GLIBC_MINOR = 35  # Ubuntu 22.04, the base of the 2.6 inference images

# The distributions the PyTorch 2.6 inference DLC (CPU and GPU, py312) already has, from
# aws/deep-learning-containers pytorch/inference/docker/2.6/py3/Dockerfile.cpu: its pip install list,
# TorchServe's requirements/common.txt, the SageMaker stage's extras, and the requirements of those
# that serving touches (boto3's, torch's, awscli's PyYAML). Names are canonical (PEP 503).
CONTAINER_DISTRIBUTIONS = frozenset(
    {
        # Dockerfile pip install
        "awscli",
        "boto3",
        "charset-normalizer",
        "cryptography",
        "cython",
        "h5py",
        "idna",
        "ipython",
        "mkl",
        "numpy",
        "opencv-python",
        "packaging",
        "pyopenssl",
        "pytz",
        "requests",
        "scipy",
        "setuptools",
        "tqdm",
        "tzdata",
        "urllib3",
        # PyTorch binaries
        "torch",
        "torchaudio",
        "torchdata",
        "torchtext",
        "torchvision",
        # TorchServe requirements/common.txt and TorchServe itself
        "captum",
        "future",
        "pillow",
        "psutil",
        "sentencepiece",
        "torch-model-archiver",
        "torchserve",
        "wheel",
        # SageMaker stage
        "pandas",
        "s3transfer",
        "sagemaker-pytorch-inference",
        "scikit-learn",
        # requirements of the above that serving relies on
        "botocore",
        "filelock",
        "fsspec",
        "jinja2",
        "jmespath",
        "markupsafe",
        "mpmath",
        "networkx",
        "python-dateutil",
        "pyyaml",
        "six",
        "sympy",
        "typing-extensions",
    }
)

# Requirements that serving never imports. timm uses huggingface_hub and safetensors only to download
# pretrained weights (both imports are optional in timm); serving builds the network with
# pretrained=False and loads model.pt. Shipping them would add hf-xet's 11 MB binary and an HTTP stack.
UNUSED_IN_SERVING = frozenset({"huggingface-hub", "safetensors"})

# Markers are evaluated for the container, not for the machine that packages.
_CONTAINER_MARKERS = {
    "implementation_name": "cpython",
    "platform_machine": "x86_64",
    "platform_system": "Linux",
    "python_version": "3.12",
    "sys_platform": "linux",
    "os_name": "posix",
}


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class VendoringRefusal(Exception):
    """The needed distributions cannot be copied for the container from this environment (says why)."""


def requirement_names(dist: metadata.Distribution, extras: Iterable[str]) -> list[tuple[str, set[str]]]:
    """(canonical name, extras) of what `dist` requires in the container, with these extras asked for."""
    from packaging.requirements import Requirement

    wanted = ["", *extras]
    needed = []
    for line in dist.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**_CONTAINER_MARKERS, "extra": extra}) for extra in wanted):
            needed.append((canonical_name(requirement.name), set(requirement.extras)))
    return needed


def distributions_to_ship(
    roots: Iterable[str], provided: frozenset[str] = CONTAINER_DISTRIBUTIONS
) -> list[str]:
    """`roots` and everything they require (as installed here) that the container lacks, sorted."""
    found: dict[str, set[str]] = {}
    queue = [(canonical_name(root), set()) for root in roots]
    while queue:
        name, extras = queue.pop()
        if name in provided or name in UNUSED_IN_SERVING:
            continue
        if name in found and extras <= found[name]:
            continue
        found[name] = found.get(name, set()) | extras
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as error:
            raise VendoringRefusal(f"{name} is needed for serving but not installed here") from error
        queue.extend(requirement_names(dist, extras))
    return sorted(found)


def container_tags() -> frozenset[str]:
    """Every wheel tag the container's interpreter accepts (as `packaging.tags.Tag` strings)."""
    from packaging import tags

    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(CONTAINER_GLIBC_MINOR, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    interpreter = f"cp{CONTAINER_PYTHON[0]}{CONTAINER_PYTHON[1]}"
    accepted = [
        *tags.cpython_tags(CONTAINER_PYTHON, abis=[interpreter], platforms=platforms),
        *tags.compatible_tags(CONTAINER_PYTHON, interpreter=interpreter, platforms=platforms),
    ]
    return frozenset(str(tag) for tag in accepted)


def _unfit_reason(dist: metadata.Distribution, accepted: frozenset[str]) -> str | None:
    """Why this installed distribution would not run in the container, or None when it would."""
    from packaging.tags import parse_tag

    name = f"{dist.metadata['Name']} {dist.version}"
    wheel = dist.read_text("WHEEL")
    if wheel is None or dist.files is None:
        return f"{name} was not installed from a wheel (no WHEEL or RECORD file)"
    declared = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    if not any(str(tag) in accepted for line in declared for tag in parse_tag(line)):
        return (
            f"{name} is built for {', '.join(declared) or 'no declared platform'}, not for the container "
            f"(CPython {CONTAINER_PYTHON[0]}.{CONTAINER_PYTHON[1]}, manylinux x86_64, glibc "
            f"2.{CONTAINER_GLIBC_MINOR})"
        )
    return None


def _copy_distribution(dist: metadata.Distribution, lib_dir: Path) -> None:
    """Copy the files the distribution installed into site-packages (not its scripts or bytecode)."""
    for file in dist.files or []:
        if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
            continue
        target = lib_dir / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist.locate_file(file), target)


def ship_distributions(roots: Iterable[str], lib_dir: Path) -> dict[str, str]:
    """Copy `roots` and what they need beyond the container into `lib_dir`; returns name -> version.

    Raises VendoringRefusal, copying nothing, when one of them would not run in the container.
    """
    names = distributions_to_ship(roots)
    dists = [metadata.distribution(name) for name in names]
    accepted = container_tags()
    problems = [reason for dist in dists if (reason := _unfit_reason(dist, accepted))]
    if problems:
        raise VendoringRefusal("; ".join(problems))
    if lib_dir.exists():
        shutil.rmtree(lib_dir)
    lib_dir.mkdir(parents=True)
    for dist in dists:
        _copy_distribution(dist, lib_dir)
    shipped = {dist.metadata["Name"]: dist.version for dist in dists}
    manifest = {
        "python": ".".join(map(str, CONTAINER_PYTHON)),
        "platform": CONTAINER_PLATFORM,
        "distributions": shipped,
    }
    (lib_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return shipped


def runs_container_binaries() -> bool:
    """Whether this interpreter can load what was shipped: CPython 3.12 on x86_64 Linux."""
    return (
        sys.implementation.name == "cpython"
        and sys.version_info[:2] == CONTAINER_PYTHON
        and sysconfig.get_platform() == CONTAINER_PLATFORM
    )


def activate(lib_dir: Path) -> bool:
    """Put a model's shipped packages first on sys.path when this interpreter can run them.

    Elsewhere (a laptop serving a model trained in SageMaker) the packages installed there are used.
    """
    manifest_path = lib_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return False
    shipped = json.loads(manifest_path.read_text())["distributions"]
    if not runs_container_binaries():
        logger.warning(
            "%s holds packages built for CPython %s on %s; this is %s %s on %s, so the packages "
            "installed here are used instead",
            lib_dir,
            ".".join(map(str, CONTAINER_PYTHON)),
            CONTAINER_PLATFORM,
            sys.implementation.name,
            sys.version.split()[0],
            sysconfig.get_platform(),
        )
        return False
    if str(lib_dir) not in sys.path:
        sys.path.insert(0, str(lib_dir))
    logger.info(
        "using the model's own packages from %s: %s",
        lib_dir,
        ", ".join(f"{name} {version}" for name, version in sorted(shipped.items())),
    )
    return True
