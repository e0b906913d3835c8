"""The packaged model under SageMaker's real PyTorch inference toolkit (sagemaker-pytorch-inference +
TorchServe), started as the inference DLC starts it: the same answers as our local model server, every bad
request back with its 4xx status and message, and nothing installed when the endpoint starts."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from countnet.serving import MAX_BODY_BYTES
from countnet.vendoring import LIB_DIR, MANIFEST_FILE
from dlc_versions import dlc_pins, imported_versions
from model_testkit import jpeg_bytes, png_claiming
from PIL import Image
from serving_testkit import JPEG, post

from binventory.toolkit.server import INSTALL_LOG_LINE, SERVING_VENV, ToolkitServer, pip_cut_off_env

ABID_IMAGES = 3
TOLERANCE = 2e-6  # answers are rounded to 6 places
TORCHSERVE_MAX_REQUEST_BYTES = 6_553_500


def _abid_requests(abid_dir: Path) -> list[tuple[str, bytes, str]]:
    """(name, body, content type): the first ABID JPEGs as they are, and the first one again as a PNG."""
    paths = sorted((abid_dir / "images").glob("*.jpg"))[:ABID_IMAGES]
    requests = [(path.name, path.read_bytes(), "image/jpeg") for path in paths]
    buffer = io.BytesIO()
    Image.open(paths[0]).save(buffer, format="PNG")
    return [*requests, (f"{paths[0].stem}.png", buffer.getvalue(), "image/png")]


def test_the_endpoint_installs_nothing_when_it_starts(
    toolkit_server: ToolkitServer, serving_model_dir: Path
) -> None:
    # given a model directory that ships what the container lacks
    code = serving_model_dir / "code"
    assert not (code / "requirements.txt").exists()
    shipped = json.loads((code / LIB_DIR / MANIFEST_FILE).read_text())["distributions"]
    # then the toolkit came up (with pip unable to reach any package) without trying to install anything,
    assert INSTALL_LOG_LINE not in toolkit_server.output()
    # and the worker served ONNX with the shipped onnxruntime (the serving venv has none of its own)
    model_log = toolkit_server.model_log()
    assert "using the model's own packages" in model_log
    assert f"onnxruntime {shipped['onnxruntime']}" in model_log
    assert "runtime onnx)" in model_log


def test_pip_reaches_no_package_under_the_toolkit(tmp_path: Path) -> None:
    """The guard behind the test above: in the toolkit's environment any install attempt fails."""
    python = SERVING_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"{python} not found: run `make setup` (it builds {SERVING_VENV.name})")
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--no-deps", "timm"],
        env={**os.environ, **pip_cut_off_env(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout


def test_images_get_the_local_model_servers_answer(
    toolkit_server: ToolkitServer, local_server: str, abid_dir: Path
) -> None:
    for name, body, content_type in _abid_requests(abid_dir):
        # when the same bytes go to both servers
        headers = {"Content-Type": content_type}
        real, ours = post(toolkit_server.url, body, headers), post(local_server, body, headers)
        # then both answer 200 with the same JSON, field by field
        assert (real.status, real.content_type) == (200, "application/json"), (name, real.body[:500])
        assert (ours.status, ours.content_type) == (200, "application/json"), name
        real_answer, our_answer = json.loads(real.body), json.loads(ours.body)
        assert real_answer.keys() == our_answer.keys(), name
        for field in ("predicted_count", "predicted_label", "model_version", "reconciliation_rule"):
            assert real_answer[field] == our_answer[field], (name, field)
        assert real_answer["confidence"] == pytest.approx(our_answer["confidence"], abs=TOLERANCE)
        assert real_answer["probabilities"] == pytest.approx(our_answer["probabilities"], abs=TOLERANCE)
        assert real_answer["reconciliation_rule"] is not None


def test_any_json_accept_gets_an_application_json_response(toolkit_server: ToolkitServer) -> None:
    for accept in ("*/*", "application/*", "application/json"):
        reply = post(toolkit_server.url, jpeg_bytes(size=96), {**JPEG, "Accept": accept})
        assert (reply.status, reply.content_type) == (200, "application/json"), accept


_IMAGE = jpeg_bytes(size=96)
# case: (body, headers, status, part of the message)
BAD_REQUESTS = {
    "empty body": (b"", JPEG, 400, "the request body is empty"),
    "not an image": (b"hello, not an image", JPEG, 400, "not a readable JPEG or PNG"),
    "truncated JPEG": (_IMAGE[: len(_IMAGE) // 2], JPEG, 400, "truncated or corrupt"),
    "no content type": (_IMAGE, {}, 415, "no content type"),
    "unsupported content type": (_IMAGE, {"Content-Type": "text/plain"}, 415, "'text/plain' is not"),
    "CSV answer asked for": (_IMAGE, {**JPEG, "Accept": "text/csv"}, 406, "'text/csv' is not available"),
    "body over the limit": (b"\xff" * (MAX_BODY_BYTES + 1), JPEG, 413, "is over 6 MB"),
    "pixel bomb": (png_claiming(40_000, 40_000), {"Content-Type": "image/png"}, 413, "MP limit"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_come_back_with_their_status_and_message(
    toolkit_server: ToolkitServer, local_server: str, case: str
) -> None:
    body, headers, status, message_part = BAD_REQUESTS[case]
    # when the same bad request goes to both servers
    real, ours = post(toolkit_server.url, body, headers), post(local_server, body, headers)
    # then the toolkit answers with the handler's 4xx and its message, as ours does, and no traceback: a
    # caller learns what was wrong with the request, not where the container's code lives
    assert real.status == ours.status == status, real.body[:500]
    assert message_part in real.message()
    assert real.message() == ours.message()
    assert b"Traceback" not in real.body and b".py" not in real.body


def test_bodies_over_torchserves_own_limit_get_a_bare_413(toolkit_server: ToolkitServer) -> None:
    """TorchServe refuses them before the handler runs, with no message (SageMaker refuses them earlier)."""
    reply = post(toolkit_server.url, b"\xff" * (TORCHSERVE_MAX_REQUEST_BYTES + 1), JPEG)
    assert (reply.status, reply.body) == (413, b"")


def test_the_inference_toolkit_serves_under_the_inference_dlc_s_own_versions() -> None:
    if not (SERVING_VENV / "bin" / "python").exists():
        pytest.skip(f"{SERVING_VENV} not built: run `make setup`")
    assert imported_versions(SERVING_VENV / "bin" / "python") == dlc_pins()
