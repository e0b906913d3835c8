"""Acknowledge the Node.js version for jsii before aws_cdk is imported, so synth prints no bytes banner.

jsii (the bridge from Python to the CDK's JavaScript) prints a 12-line notice when Node is past its end of
life or deprecated; its Python side forwards that notice line by line as Python bytes literals (`b'!!  ...'`),
on every synth. jsii's own switch for it is a variable naming the Node major version it acknowledges. Set
here, for the running Node, unless the user set it; the README names the Node versions this project uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import MutableMapping

ACKNOWLEDGE_VARIABLES = (
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION",
)


def node_major_version() -> str | None:
    """The major version of the `node` on PATH (what jsii runs), or None without one."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major = version.strip().lstrip("v").split(".")[0]
    return major if major.isdigit() else None


def acknowledge_node_version(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set jsii's acknowledgement variables to the running Node's major version (the user's own win)."""
    major = node_major_version()
    if major is None:
        return
    for variable in ACKNOWLEDGE_VARIABLES:
        environ.setdefault(variable, major)
