"""The whole app: cdk-nag finds nothing unacknowledged, cfn-lint passes, and the pinned CLI synthesizes it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint_file
from stacks_testkit import (
    PROD_WITH_MODEL,
    REPO_ROOT,
    NagFindings,
    SynthesizedApp,
    context_with,
    nag_violations,
    synthesize,
)

from contracts import stack_outputs
from stacks import nag

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
# cfn-lint's only finding on CDK templates: DependsOn entries CDK adds that are also implied by a Ref.
CFN_LINT_IGNORED = ["W3005"]


def test_dev_and_prod_apps_have_no_unacknowledged_nag_findings(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    # The fixtures raise NagFindings listing any finding; here, also read the reports they left.
    for app in (dev_app, prod_app):
        assert nag_violations(app.outdir) == []
        assert len(app.templates) == 3


def test_nag_checks_fail_synth_on_a_finding(tmp_path: Path) -> None:
    # given: an app with the project's checks and a bucket that breaks several rules
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Unsafe", env=cdk.Environment(region="us-east-1"))
    s3.Bucket(stack, "OpenBucket")
    nag.enable_checks(app)

    # when
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    # then
    violations = nag_violations(tmp_path)
    assert "AwsSolutions-S10 at Unsafe/OpenBucket/Resource" in violations
    assert "AwsSolutions-S1 at Unsafe/OpenBucket/Resource" in violations


def test_every_acknowledgment_answers_a_real_finding_with_a_specific_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the app with acknowledgments recorded instead of applied (prod with a model has them all)
    recorded: list[tuple[str, str, str]] = []
    monkeypatch.setattr(
        nag, "acknowledge", lambda scope, finding, reason: recorded.append((scope.node.path, finding, reason))
    )

    # when
    with pytest.raises(NagFindings):
        synthesize(PROD_WITH_MODEL, tmp_path)
    findings = [line.split(" at ") for line in nag_violations(tmp_path)]

    # then: each finding is acknowledged on its construct or a parent, and each acknowledgment is used
    def covers(acknowledgment: tuple[str, str, str], finding: list[str]) -> bool:
        path, rule, _ = acknowledgment
        return rule == finding[0] and (finding[1] + "/").startswith(path + "/")

    assert [f for f in findings if not any(covers(a, f) for a in recorded)] == []
    assert [a[:2] for a in recorded if not any(covers(a, f) for f in findings)] == []
    assert all(len(reason) >= 60 for _, _, reason in recorded), "every reason explains itself"


# A DLC image reference anywhere in a template (state machine definition, outputs, ...), with its tag.
_ECR_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+):([\w.-]+)")
# The profiler rules' evaluator (Debugger's image), the one image that is not a DLC.
RULES_EVALUATOR = "sagemaker-debugger-rules"
# The full DLC tag: framework version, processor, Python, CUDA (GPU builds), OS, platform.
_FULL_DLC_TAG = re.compile(r"^\d+\.\d+\.\d+-(cpu|gpu)-py3\d+(-cu\d+)?-ubuntu\d+\.\d+-sagemaker$")


def test_no_template_names_an_image_by_a_floating_tag(
    dev_app: SynthesizedApp, prod_app: SynthesizedApp
) -> None:
    images = {
        match.groups()
        for app in (dev_app, prod_app)
        for template in app.templates.values()
        for match in _ECR_IMAGE.finditer(json.dumps(template))
    }

    assert {repository for repository, _ in images} == {
        "pytorch-training",
        "pytorch-inference",
        RULES_EVALUATOR,
    }
    dlcs = {image for image in images if image[0] != RULES_EVALUATOR}
    assert {image for image in dlcs if not _FULL_DLC_TAG.match(image[1])} == set()
    # Debugger's rule evaluator is published under one tag only (the SDK's registry lists no other version)
    assert {tag for repository, tag in images if repository == RULES_EVALUATOR} == {"latest"}


def test_every_template_passes_cfn_lint(dev_app: SynthesizedApp, prod_app: SynthesizedApp) -> None:
    config = ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=[dev_app.settings.region])

    problems = {
        template.name: [str(match) for match in lint_file(template, config=config)]
        for app in (dev_app, prod_app)
        for template in sorted(app.outdir.glob("*.template.json"))
    }

    assert len(problems) == 6
    assert problems == {name: [] for name in problems}


def test_pinned_cdk_cli_synthesizes_every_stack(tmp_path: Path) -> None:
    if not CDK_CLI.exists() or shutil.which("node") is None:
        pytest.skip("the pinned CDK CLI is not installed: run `make setup` (npm ci) first")
    # as a user runs it: no jsii acknowledgement of the Node version in the environment
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE_WARNING")},
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    cloud_assembly = tmp_path / "cdk.out"

    # when
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--no-notices", "-q", "-o", str(cloud_assembly)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # then
    assert result.returncode == 0, result.stderr[-3000:]
    assert "b'" not in result.stderr, "jsii's Node banner reached the terminal as Python bytes"
    for kind in stack_outputs.STACK_KINDS:
        template = json.loads(
            (cloud_assembly / f"{stack_outputs.stack_name('dev', kind)}.template.json").read_text()
        )
        assert template["Resources"], kind
    assert nag_violations(cloud_assembly) == []


def test_app_py_stops_synth_with_the_settings_message_and_no_traceback() -> None:
    # given: the context `npx cdk synth -c binventory.endpoint.mode=fast` would hand the app
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context_with({"binventory.endpoint.mode": "fast"})),
    }

    # when
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then
    assert result.returncode == 1
    assert "binventory.endpoint.mode: got 'fast'; allowed values: 'serverless', 'realtime'" in result.stderr
    assert "Traceback" not in result.stderr
