"""The review Lambda as Lambda runs it: the asset CDK packages (its page included), imported by the template's
handler string in an isolated Python 3.12 subprocess whose path holds only that asset and `.lambda-runtime/`
(the runtime's boto3 and the pinned Powertools layer), against moto in server mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from iam_check.synth import REPO_ROOT, synthesized
from iam_check.templates import Deployment
from lambda_bootstrap import RESULT_MARKER
from review_iam import TEST_NAMES
from review_world import REGION, REVIEWER_CLAIMS, ReviewWorld, api_event, recent

from binventory.local.emulator import AwsEmulator
from contracts.counter_environment import WITHOUT_XRAY_DAEMON

LAMBDA_RUNTIME_DIR = REPO_ROOT / ".lambda-runtime"
BOOTSTRAP = REPO_ROOT / "tests" / "lambda_bootstrap.py"
STAGE = "test"


@pytest.fixture(scope="module")
def packaged() -> tuple[Path, str, dict[str, str]]:
    """The review function's staged asset, handler and environment, as the synthesized template deploys it."""
    app = synthesized(stage=STAGE)
    stack = f"binventory-{STAGE}-counting"
    (resource,) = [
        resource
        for resource in app.templates[stack]["Resources"].values()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").endswith("/Review/Function/Function/Resource")
    ]
    environment = Deployment(app.templates, names=TEST_NAMES).resolve(
        stack, resource["Properties"]["Environment"]["Variables"]
    )
    return app.outdir / resource["Metadata"]["aws:asset:path"], resource["Properties"]["Handler"], environment


@pytest.fixture
def moto_server(fake_aws_credentials: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    emulator = AwsEmulator().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    boto3.setup_default_session(region_name=REGION)
    yield emulator.url
    boto3.DEFAULT_SESSION = None
    emulator.stop()


def run_as_lambda(
    packaged: tuple[Path, str, dict[str, str]], event: dict[str, Any], moto: str
) -> dict[str, Any]:
    asset, handler, function_environment = packaged
    if not (LAMBDA_RUNTIME_DIR / ".installed").is_file():
        pytest.fail(f"{LAMBDA_RUNTIME_DIR} is missing: run `make setup`.")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto,
        **WITHOUT_XRAY_DAEMON,
        **function_environment,
    }
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(BOOTSTRAP), str(asset), str(LAMBDA_RUNTIME_DIR), handler],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert completed.returncode == 0 and lines, f"the packaged handler failed:\n{completed.stderr[-4000:]}"
    return json.loads(lines[-1].removeprefix(RESULT_MARKER))


def test_the_packaged_handler_serves_the_page_and_the_queue(
    packaged: tuple[Path, str, dict[str, str]], moto_server: str
) -> None:
    # given a flagged bin in the stage's tables
    world = ReviewWorld()
    world.counted("B-1", captured_at=recent(5), count=5, expected=2)

    # when Lambda's runtime invokes the packaged handler for the page and for the queue
    page = run_as_lambda(packaged, api_event("GET", "/", claims=None), moto_server)
    queue = run_as_lambda(packaged, api_event("GET", "/api/queue", claims=REVIEWER_CLAIMS), moto_server)

    # then the page comes from the asset with its policy, and the queue from the tables, with nothing
    # loaded from outside the asset, the runtime and the layer
    assert page["outside"] == [] and queue["outside"] == [] and page["python"] == [3, 12]
    assert page["result"]["statusCode"] == 200 and "<title>" in page["result"]["body"]
    assert "script-src 'self'" in page["result"]["headers"]["Content-Security-Policy"]
    entries = json.loads(queue["result"]["body"])["entries"]
    assert [entry["bin_id"] for entry in entries] == ["B-1"]
