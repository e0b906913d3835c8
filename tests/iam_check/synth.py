"""The CDK app, synthesized once per test process for every suite that reads its templates or assets."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SynthesizedAssembly:
    """The cloud assembly directory (templates and staged assets) and the templates by stack name."""

    outdir: Path
    templates: dict[str, dict[str, Any]]


def templates(**overrides: str) -> dict[str, dict[str, Any]]:
    """Stack name -> template of the app built from cdk.json's context plus `-c`-style `overrides`."""
    return synthesized(**overrides).templates


def synthesized(**overrides: str) -> SynthesizedAssembly:
    return _synthesize(tuple(sorted(overrides.items())))


@cache
def _synthesize(overrides: tuple[tuple[str, str], ...]) -> SynthesizedAssembly:
    # Before aws_cdk starts Node.js: this machine's Node 20 prints an end-of-life banner otherwise.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk

    from contracts.deployment_settings import load_settings
    from stacks.composition import build_stacks

    context: Mapping[str, Any] = {
        **json.loads((REPO_ROOT / "cdk.json").read_text())["context"],
        **dict(overrides),
        # Construct paths and asset folders in each resource's metadata, as `cdk synth` writes them.
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
    }
    outdir = Path(tempfile.mkdtemp(prefix="binventory-cdk-"))
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)  # staged assets are tens of MB per process
    app = cdk.App(context=dict(context), outdir=str(outdir))
    build_stacks(app, load_settings(context))
    return SynthesizedAssembly(outdir, {stack.stack_name: stack.template for stack in app.synth().stacks})
