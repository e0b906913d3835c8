#!/usr/bin/env python3
"""The CDK app: `npx cdk synth` / `npx cdk deploy` run this file (see cdk.json).

Settings come from cdk.json's `binventory` context plus `-c` overrides; a bad value stops synth with
a message naming the key. cdk-nag checks every stack, and a finding fails synth.
"""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk

from contracts.deployment_settings import SettingsError, load_settings
from stacks.composition import build_stacks


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
