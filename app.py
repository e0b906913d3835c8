#!/usr/bin/env python3
"""The CDK app: `npx cdk synth` / `npx cdk deploy` run this file (see cdk.json).

Settings come from cdk.json's `binventory` context plus `-c` overrides; a bad value stops synth with
a message naming the key. cdk-nag checks every stack, and a finding fails synth.
"""

from __future__ import annotations

import os
import sys

from stacks.node_banner import acknowledge_node_version

acknowledge_node_version()  # before aws_cdk starts jsii: no Node banner as Python bytes on every synth

import aws_cdk as cdk  # noqa: E402

from contracts.deployment_settings import SettingsError, load_settings  # noqa: E402
from stacks.composition import build_stacks  # noqa: E402


def main() -> None:
    app = cdk.App()
    try:
        settings = load_settings(app.node.get_all_context())
        build_stacks(app, settings, account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    except SettingsError as error:
        sys.exit(f"Configuration error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
