"""Build, synthesize and read the Binventory CDK app for the stack tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before aws_cdk starts its Node.js runtime: this machine's Node 20 prints an end-of-life banner otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import assertions
from deployment_context import (  # noqa: F401  (offered to the stack tests from here)
    CDK_CONTEXT,
    MODEL_PACKAGE_ARN,
    PROD_WITH_MODEL,
    REPO_ROOT,
    context_with,
)
from state_machine_runner import (  # noqa: F401  (offered to the stack tests from here)
    TaskCall,
    only_resource,
    render,
    resources,
    run_state_machine,
    state_machine_definition,
    walk,
)

from contracts import stack_outputs
from contracts.deployment_settings import Settings, load_settings
from stacks.composition import BinventoryStacks, build_stacks


@dataclass
class SynthesizedApp:
    """One synthesized app: its settings, stacks and the templates it wrote."""

    settings: Settings
    stacks: BinventoryStacks
    outdir: Path
    templates: dict[str, dict[str, Any]]

    def template(self, kind: str) -> dict[str, Any]:
        return self.templates[stack_outputs.stack_name(self.settings.stage, kind)]

    def assertions(self, kind: str) -> assertions.Template:
        return assertions.Template.from_json(self.template(kind))


class NagFindings(AssertionError):
    """cdk-nag rejected the app; the message lists every finding."""


def synthesize(overrides: Mapping[str, Any], outdir: Path) -> SynthesizedApp:
    """Build the app as `npx cdk synth` would (same context and checks) and synthesize it into `outdir`."""
    context = context_with(overrides)
    settings = load_settings(context)
    # Construct paths in resource metadata, as `cdk synth` writes them: the IAM checks find roles by them.
    app = cdk.App(context={**context, "aws:cdk:enable-path-metadata": True}, outdir=str(outdir))
    stacks = build_stacks(app, settings)
    try:
        assembly = app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        raise NagFindings("cdk-nag findings:\n" + "\n".join(nag_violations(outdir))) from error
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return SynthesizedApp(settings=settings, stacks=stacks, outdir=outdir, templates=templates)


def nag_violations(outdir: Path) -> list[str]:
    """`<rule> at <construct path>` for every violation in the synthesized validation report."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def policy_statements(template: Mapping[str, Any], logical_id_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the IAM policies whose logical id starts with `logical_id_prefix`."""
    return [
        statement
        for key, policy in resources(template, "AWS::IAM::Policy").items()
        if key.startswith(logical_id_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
