"""Give the serving venv exactly the inference container's Python packages, linked from .venv.

tests/integration/serving and the cold-start benchmark run SageMaker's real inference toolkit (`serve`) from a
venv of its own, `.venv-serving` (the toolkit needs setuptools<81, which .venv cannot share). That
venv must see what the PyTorch inference DLC has (torch, numpy, Pillow, boto3, ...) and nothing more:
no onnxruntime, no timm, so a model directory that fails to ship a package fails here as on AWS.
Installing torch again would cost gigabytes, so this links the container's distributions, and what
they require, from .venv's site-packages into one folder that a .pth file puts on the venv's path.
The toolkit itself (requirements-serving.txt) is installed into the venv by `make setup`.

    .venv/bin/python -m binventory.toolkit.container_site .venv-serving
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import metadata
from pathlib import Path, PurePosixPath

from countnet.vendoring import CONTAINER_DISTRIBUTIONS, canonical_name, requirement_names

SITE_DIR = "container-site"
# The DLC's own torch, torchvision, numpy and Pillow (and what they require), first on the path.
DLC_SITE_DIR = "container-site-dlc"
PTH_FILE = "container-site.pth"
# Installed into the serving venv itself, pinned by requirements-serving.txt.
TOOLKIT_DISTRIBUTIONS = frozenset(
    {"sagemaker-pytorch-inference", "setuptools", "torch-model-archiver", "torchserve", "wheel"}
)


def container_closure(
    dists: dict[str, metadata.Distribution], skip: frozenset[str] = frozenset()
) -> set[str]:
    """The container's distributions installed here, with everything they require that is installed (less
    `skip`: distributions taken from elsewhere)."""
    found: set[str] = set()
    queue = [(name, set()) for name in CONTAINER_DISTRIBUTIONS - TOOLKIT_DISTRIBUTIONS - skip]
    while queue:
        name, extras = queue.pop()
        if name in found or name in TOOLKIT_DISTRIBUTIONS or name in skip or name not in dists:
            continue
        found.add(name)
        queue.extend(requirement_names(dists[name], extras))
    return found


def _installed_files(dist: metadata.Distribution) -> set[PurePosixPath]:
    return {
        PurePosixPath(file.as_posix())
        for file in dist.files or []
        if file.parts[0] != ".." and "__pycache__" not in file.parts
    }


def _prefixes(files: set[PurePosixPath]) -> set[PurePosixPath]:
    return {PurePosixPath(*file.parts[:depth]) for file in files for depth in range(1, len(file.parts) + 1)}


def link_site(site_packages: Path, target: Path, skip: frozenset[str] = frozenset()) -> set[str]:
    """Link the container's distributions in `site_packages` (less `skip`) into `target`; returns their names.

    A folder is linked whole unless another distribution installed files in it too (a namespace
    package such as `google/`); then it is rebuilt and only this distribution's entries are linked.
    """
    dists = {
        canonical_name(dist.metadata["Name"]): dist
        for dist in metadata.distributions(path=[str(site_packages)])
        if dist.metadata["Name"]
    }
    chosen = container_closure(dists, skip)
    included = set().union(*(_installed_files(dists[name]) for name in chosen))
    excluded = set().union(*(_installed_files(dist) for name, dist in dists.items() if name not in chosen))
    included_prefixes, shared = _prefixes(included), _prefixes(excluded)

    def place(entry: PurePosixPath) -> None:
        source, link = site_packages / entry, target / entry
        if entry in included or entry not in shared:
            link.symlink_to(source, target_is_directory=source.is_dir())
            return
        link.mkdir()
        for child in sorted(p for p in included_prefixes if p.parent == entry):
            place(child)

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for entry in sorted(p for p in included_prefixes if len(p.parts) == 1):
        place(entry)
    return chosen


def venv_site_packages(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path, help="the serving venv (made with python3.12 -m venv)")
    parser.add_argument(
        "--dlc-venv",
        type=Path,
        help="a venv holding the DLC's own torch, torchvision, numpy and Pillow (requirements-dlc.txt): "
        "those, and what they require, are linked from it and the rest from .venv",
    )
    args = parser.parse_args(argv)
    venv = args.venv.resolve()
    own_site = venv_site_packages(venv)
    if not own_site.is_dir():
        parser.error(f"{own_site} not found: create the venv first (python3.12 -m venv {args.venv})")
    sites: list[Path] = []
    taken: frozenset[str] = frozenset()
    if args.dlc_venv is not None:
        dlc_site = venv_site_packages(args.dlc_venv.resolve())
        taken = frozenset(link_site(dlc_site, venv / DLC_SITE_DIR))
        sites.append(venv / DLC_SITE_DIR)
        print(f"linked {len(taken)} distributions of the container's own versions from {dlc_site}")
    source = Path(metadata.distribution("boto3").locate_file("")).resolve()
    linked = link_site(source, venv / SITE_DIR, skip=taken)
    sites.append(venv / SITE_DIR)
    (own_site / PTH_FILE).write_text("".join(f"{site}\n" for site in sites))
    print(
        f"linked {len(linked)} distributions of the inference container from {source} into {venv / SITE_DIR}"
    )


if __name__ == "__main__":
    main()
