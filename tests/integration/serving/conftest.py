"""One packaged model, served once by SageMaker's real inference toolkit and once by our local model server.

Starting the toolkit takes seconds (Java, a Python worker, model_fn), so both servers live for the session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_testkit import jpeg_bytes

from binventory.local.model_server import ModelServer
from binventory.toolkit.server import ToolkitServer, ToolkitUnavailable, check_toolkit, start_toolkit_server
from binventory.toolkit.untrained_model import write_untrained_model_dir

IMAGE_SIZE = 32  # the smallest input the untrained lite0 takes in comfortably; speed is all that matters here
START_SECONDS = 180  # about 5-8 s on an idle machine; far more when the 2 cores are busy training


@pytest.fixture(scope="session")
def serving_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory written by the real packaging code (ONNX runtime, a reconciliation rule)."""
    return write_untrained_model_dir(tmp_path_factory.mktemp("serving") / "model", IMAGE_SIZE)


@pytest.fixture(scope="session")
def toolkit_server(
    serving_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ToolkitServer]:
    """`serve` on the model, as the inference DLC starts it, with pip cut off from every package source."""
    try:
        check_toolkit()
    except ToolkitUnavailable as problem:
        pytest.skip(f"SageMaker inference toolkit unavailable: {problem}")
    server = start_toolkit_server(serving_model_dir, tmp_path_factory.mktemp("toolkit"))
    try:
        server.wait_until("/ping", START_SECONDS)
        # /ping answers before model_fn has finished: the first answered request means the model is loaded
        server.wait_until("/invocations", START_SECONDS, jpeg=jpeg_bytes(size=96))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_server(serving_model_dir: Path) -> Iterator[str]:
    """binventory's local model server on the same model directory; yields its URL."""
    server = ModelServer(serving_model_dir, endpoint_name="binventory-local")
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
