"""The counting Lambda as Lambda runs it: the asset CDK packages, imported by the template's handler string.

Everything else in this folder imports `lambdas.counter` from the checkout with the whole venv on the path,
so a module left out of the asset, or an import of a package the runtime and the pinned Powertools layer do
not provide, would pass there and fail on AWS. Here the handler runs in a Python 3.12 subprocess in isolated
mode whose path is the synthesized asset directory, `.lambda-runtime/` (`make setup`: the runtime's boto3
and the layer's packages) and the standard library, against moto in server mode and a stand-in endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from counter_iam import STAGE, TEST_NAMES
from counter_world import ENDPOINT, REGION, CountingWorld, jpeg_bytes, record_key_of, s3_notification
from iam_check.synth import REPO_ROOT, synthesized
from iam_check.templates import Deployment
from lambda_bootstrap import RESULT_MARKER
from model_answers import prediction

from binventory.local.emulator import AwsEmulator
from contracts.counter_environment import WITHOUT_XRAY_DAEMON
from stacks.counting.counter_function import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION

LAMBDA_RUNTIME_DIR = REPO_ROOT / ".lambda-runtime"
LAMBDA_RUNTIME_PINS = REPO_ROOT / "requirements-lambda-runtime.txt"
BOOTSTRAP = REPO_ROOT / "tests" / "lambda_bootstrap.py"
FUNCTION_PATH = "Counter/Function"


@dataclass(frozen=True)
class PackagedFunction:
    """The counting function as the synthesized template deploys it."""

    asset_dir: Path
    handler: str
    runtime: str
    environment: dict[str, str]
    layers: list[str]


@pytest.fixture(scope="module")
def packaged_function() -> PackagedFunction:
    app = synthesized(stage=STAGE)
    deployment = Deployment(app.templates, names=TEST_NAMES)
    stack = f"binventory-{STAGE}-counting"
    (resource,) = [
        resource
        for resource in app.templates[stack]["Resources"].values()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").endswith(f"/{FUNCTION_PATH}/Resource")
    ]
    properties = resource["Properties"]
    return PackagedFunction(
        asset_dir=app.outdir / resource["Metadata"]["aws:asset:path"],
        handler=properties["Handler"],
        runtime=properties["Runtime"],
        environment=deployment.resolve(stack, properties["Environment"]["Variables"]),
        layers=deployment.resolve(stack, properties["Layers"]),
    )


@pytest.fixture
def lambda_runtime_dir() -> Path:
    if not (LAMBDA_RUNTIME_DIR / ".installed").is_file():
        pytest.fail(
            f"{LAMBDA_RUNTIME_DIR} is missing: run `make setup` (it installs {LAMBDA_RUNTIME_PINS.name})."
        )
    return LAMBDA_RUNTIME_DIR


@pytest.fixture
def moto_server(fake_aws_credentials: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode, reached by this process and the Lambda's through AWS_ENDPOINT_URL."""
    emulator = AwsEmulator().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    boto3.setup_default_session(region_name=REGION)
    yield emulator.url
    boto3.DEFAULT_SESSION = None
    emulator.stop()


@dataclass
class EndpointStandIn:
    """SageMaker Runtime's InvokeEndpoint for one endpoint: answers every image with `answer`."""

    answer: dict[str, Any]
    url: str = ""
    received: list[tuple[str, bytes]] | None = None


@pytest.fixture
def endpoint() -> Iterator[EndpointStandIn]:
    stand_in = EndpointStandIn(prediction(3, 0.9), received=[])

    class Invocations(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            assert stand_in.received is not None
            stand_in.received.append((self.path, body))
            payload = json.dumps(stand_in.answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Invocations)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield stand_in
    server.shutdown()
    server.server_close()


def run_as_lambda(
    function: PackagedFunction, runtime_dir: Path, event: dict[str, Any], environment: dict[str, str]
) -> dict[str, Any]:
    """Invoke the packaged handler once in an isolated Python subprocess; return its report."""
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(BOOTSTRAP),
            str(function.asset_dir),
            str(runtime_dir),
            function.handler,
        ],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert completed.returncode == 0 and lines, (
        f"the packaged handler failed (exit {completed.returncode}):\n{completed.stderr[-4000:]}"
    )
    return json.loads(lines[-1].removeprefix(RESULT_MARKER))


def test_the_venv_the_function_and_its_layer_are_python_3_12(packaged_function: PackagedFunction) -> None:
    pins = LAMBDA_RUNTIME_PINS.read_text()

    assert sys.version_info[:2] == (3, 12)
    assert packaged_function.runtime == "python3.12"
    assert "/python3.12/" in POWERTOOLS_LAYER_PARAMETER
    assert packaged_function.layers == [POWERTOOLS_LAYER_PARAMETER]
    # The layer the tests run with is the one the function deploys, in the venv and in .lambda-runtime/.
    assert f"aws-lambda-powertools[all]=={POWERTOOLS_VERSION}" in pins
    assert (
        f"aws-lambda-powertools[tracer]=={POWERTOOLS_VERSION}" in (REPO_ROOT / "requirements.txt").read_text()
    )


def test_the_packaged_handler_records_one_upload_end_to_end(
    packaged_function: PackagedFunction, lambda_runtime_dir: Path, moto_server: str, endpoint: EndpointStandIn
) -> None:
    # given one photo in the ingest bucket, its S3 notification on the queue as Lambda receives it
    world = CountingWorld()
    image = jpeg_bytes(41)
    version = world.put_image("incoming/bin-42/photo.jpg", image, expected_quantity="3")
    event = world.sqs_event(s3_notification(version))
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url,
        **WITHOUT_XRAY_DAEMON,
        **packaged_function.environment,
    }

    # when Lambda's runtime invokes the packaged handler with it
    report = run_as_lambda(packaged_function, lambda_runtime_dir, event, environment)

    # then Python 3.12 ran it with nothing from outside the asset, the runtime and the layer
    assert report["python"] == [3, 12]
    assert report["outside"] == []
    assert report["result"] == {"batchItemFailures": []}
    # and the photo went to the endpoint and its record is in the table
    assert endpoint.received == [(f"/endpoints/{ENDPOINT}/invocations", image)]
    item = world.items()[record_key_of(version)]
    assert (item["bin_id"], item["status"], item["predicted_count"], item["expected_quantity"]) == (
        "bin-42",
        "MATCH",
        3,
        3,
    )
