"""checkov, an IaC scanner independent of cdk-nag, finds nothing in any configuration's templates.

Every check either passes or is skipped in the template itself with the reason it does not apply
(`stacks/checkov.py`); a new finding fails here with the check, the resource and the template.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from stacks_testkit import REPO_ROOT, SynthesizedApp, synthesize

DEV_MODEL_PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-dev/1"
# checkov lives in a venv of its own (requirements-checkov.txt explains why); CHECKOV overrides.
CHECKOV = os.environ.get("CHECKOV") or str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov")


@pytest.fixture(scope="module")
def dev_with_model(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """dev with a published model: the serverless endpoint and its model are in the template."""
    return synthesize(
        {"binventory.model_package_arn": DEV_MODEL_PACKAGE_ARN}, tmp_path_factory.mktemp("cdk-model")
    )


@pytest.fixture(scope="module")
def dev_realtime(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """dev in real-time mode; with a model, since without one no endpoint is deployed in either mode."""
    return synthesize(
        {"binventory.endpoint.mode": "realtime", "binventory.model_package_arn": DEV_MODEL_PACKAGE_ARN},
        tmp_path_factory.mktemp("cdk-realtime"),
    )


def checkov_findings(templates: list[Path]) -> tuple[dict[str, Any], list[str]]:
    """checkov's summary and one line per failed check: `<check> <resource> in <template>: <title>`."""
    if shutil.which(CHECKOV) is None:
        pytest.skip(f"checkov is not installed at {CHECKOV}: run `make setup` (see requirements-checkov.txt)")
    result = subprocess.run(
        [
            CHECKOV,
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
            *(arg for template in templates for arg in ("--file", str(template))),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = {
        key: sum(report["summary"][key] for report in reports) for key in ("passed", "failed", "skipped")
    }
    failed = [
        f"{check['check_id']} {check['resource']} in {Path(check['file_path']).name}: {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    return summary, failed


def test_checkov_finds_nothing_in_dev_with_and_without_a_model_in_real_time_mode_and_in_prod(
    dev_app: SynthesizedApp,
    dev_with_model: SynthesizedApp,
    dev_realtime: SynthesizedApp,
    prod_app: SynthesizedApp,
) -> None:
    # prod adds what no dev configuration has: retained data and queues, deletion protection, data capture
    templates = [
        template
        for app in (dev_app, dev_with_model, dev_realtime, prod_app)
        for template in app.outdir.glob("*.template.json")
    ]

    summary, failed = checkov_findings(templates)

    assert len(templates) == 12
    assert failed == []
    assert summary["passed"] > 300, "checkov ran its checks on every template"


def test_every_checkov_skip_names_its_check_and_a_specific_reason(
    dev_app: SynthesizedApp,
    dev_with_model: SynthesizedApp,
    dev_realtime: SynthesizedApp,
    prod_app: SynthesizedApp,
) -> None:
    skips = [
        skip
        for app in (dev_app, dev_with_model, dev_realtime, prod_app)
        for template in app.templates.values()
        for resource in template["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips, "the templates carry checkov skips"
    assert all(skip["id"].startswith("CKV_AWS_") for skip in skips)
    assert all(len(skip["comment"]) >= 60 for skip in skips), "every reason explains itself"
