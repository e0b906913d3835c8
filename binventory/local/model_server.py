"""A local stand-in for the SageMaker endpoint that serves a packaged model as the container would.

It loads `<model dir>/code/inference.py` and calls its `model_fn`, `input_fn`, `predict_fn` and
`output_fn`, like the SageMaker PyTorch inference container, and speaks two HTTP dialects:
- the SageMaker Runtime API (`POST /endpoints/<name>/invocations`), so plain boto3
  `sagemaker-runtime` reaches it through `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, errors included
  (a 4xx from the model becomes `ModelError` with `OriginalStatusCode`, as in AWS);
- the container contract (`GET /ping`, `POST /invocations`).

Run it as `python -m binventory.local.model_server --model PATH --port N`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tarfile
import tempfile
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_ACCEPT = "application/json"
RUNTIME_PATH_PREFIX = "/endpoints/"
RUNTIME_PATH_SUFFIX = "/invocations"


class ModelPathError(ValueError):
    """The model path is not a packaged model directory or model.tar.gz."""


def resolve_model_dir(model: Path, extract_root: Path | None = None) -> Path:
    """A model directory ready to serve: `model` itself, or `model.tar.gz` extracted next to the cache."""
    model = Path(model)
    if model.is_dir():
        model_dir = model
    elif model.is_file() and model.name.endswith((".tar.gz", ".tgz")):
        model_dir = Path(extract_root or tempfile.mkdtemp(prefix="binventory-model-"))
        with tarfile.open(model) as archive:
            archive.extractall(model_dir, filter="data")
    else:
        raise ModelPathError(f"Model not found at {model}: pass a trained model directory or model.tar.gz.")
    if not (model_dir / "code" / "inference.py").is_file():
        raise ModelPathError(
            f"{model} is not a packaged model: {model_dir / 'code' / 'inference.py'} is missing. "
            "Train one with `python model_code/train.py` or pass a model.tar.gz from a training job."
        )
    return model_dir


def load_inference_module(model_dir: Path) -> ModuleType:
    """Import the model's own `code/inference.py` as the serving container does: `code/` on sys.path.

    The one loader of a packaged model's handlers, for the local model server and the tests. Each model
    directory gets a module of its own (named after its code folder), so one process can load several.
    """
    code_dir = Path(model_dir) / "code"
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(
        f"inference_{abs(hash(str(code_dir)))}", code_dir / "inference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class InferenceFailure(Exception):
    """What the model's handlers raised, as an HTTP status and a message."""

    status: int
    message: str


class ServedModel:
    """The four handler functions bound to one loaded model."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.handlers = load_inference_module(model_dir)
        self.model = self.handlers.model_fn(str(model_dir))

    def invoke(self, body: bytes, content_type: str | None, accept: str) -> tuple[bytes, str]:
        """Run one request through input_fn -> predict_fn -> output_fn."""
        try:
            data = self.handlers.input_fn(body, content_type)
            prediction = self.handlers.predict_fn(data, self.model)
            output = self.handlers.output_fn(prediction, accept)
        except Exception as error:
            status = getattr(error, "status_code", None)
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            if not isinstance(status, int) or not 400 <= status < 600:
                traceback.print_exc()
                status = HTTPStatus.INTERNAL_SERVER_ERROR
            raise InferenceFailure(int(status), str(message)) from error
        if isinstance(output, tuple):
            payload, output_type = output
        else:
            payload, output_type = output, accept
        if isinstance(payload, str):
            payload = payload.encode()
        return payload, output_type


def _model_error_body(endpoint: str, failure: InferenceFailure) -> dict[str, Any]:
    """The body SageMaker Runtime returns when the container answered with an error."""
    kind = "client" if failure.status < 500 else "server"
    return {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": f"Received {kind} error ({failure.status}) from primary with message "
        f'"{failure.message}". See the local model server\'s output for endpoint {endpoint}.',
        "OriginalMessage": failure.message,
        "OriginalStatusCode": failure.status,
        "LogStreamArn": f"local://binventory/model-server/{endpoint}",
    }


def make_handler(served: ServedModel, endpoint_name: str) -> type[BaseHTTPRequestHandler]:
    """An HTTP request handler class bound to one served model."""

    class InvocationHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the pipeline's own progress is what people watch."""

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(HTTPStatus.OK, b"{}", "application/json")
            else:
                self._send(HTTPStatus.NOT_FOUND, b'{"message": "not found"}', "application/json")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            content_type = self.headers.get("Content-Type")  # None when absent, as the toolkit passes it
            accept = self.headers.get("Accept") or DEFAULT_ACCEPT
            if self.path == "/invocations":
                self._container_invocation(body, content_type, accept)
            elif self.path.startswith(RUNTIME_PATH_PREFIX) and self.path.endswith(RUNTIME_PATH_SUFFIX):
                name = self.path[len(RUNTIME_PATH_PREFIX) : -len(RUNTIME_PATH_SUFFIX)]
                self._runtime_invocation(name, body, content_type, accept)
            else:
                self._send(HTTPStatus.NOT_FOUND, b'{"message": "not found"}', "application/json")

        def _container_invocation(self, body: bytes, content_type: str | None, accept: str) -> None:
            try:
                payload, output_type = served.invoke(body, content_type, accept)
            except InferenceFailure as failure:
                self._send(
                    failure.status, json.dumps({"message": failure.message}).encode(), "application/json"
                )
                return
            self._send(HTTPStatus.OK, payload, output_type)

        def _runtime_invocation(self, name: str, body: bytes, content_type: str | None, accept: str) -> None:
            if name != endpoint_name:
                error = {"message": f"Endpoint {name} of account 000000000000 not found."}
                self._send(
                    HTTPStatus.BAD_REQUEST,
                    json.dumps(error).encode(),
                    "application/json",
                    error_type="ValidationError",
                )
                return
            try:
                payload, output_type = served.invoke(body, content_type, accept)
            except InferenceFailure as failure:
                error_body = json.dumps(_model_error_body(name, failure)).encode()
                self._send(
                    HTTPStatus.FAILED_DEPENDENCY, error_body, "application/json", error_type="ModelError"
                )
                return
            self._send(
                HTTPStatus.OK,
                payload,
                output_type,
                extra_headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
            )

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            *,
            error_type: str | None = None,
            extra_headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            for header, value in (extra_headers or {}).items():
                self.send_header(header, value)
            self.end_headers()
            self.wfile.write(payload)

    return InvocationHandler


class ModelServer:
    """The HTTP server bound to its port; `url` is what AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points at."""

    def __init__(self, model_dir: Path, endpoint_name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.served = ServedModel(model_dir)
        try:
            self.httpd = ThreadingHTTPServer((host, port), make_handler(self.served, endpoint_name))
        except OSError as error:
            raise OSError(
                f"Cannot start the model server on {host}:{port}: {error.strerror}. "
                "Pick another port or stop what is using it."
            ) from error
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    """Serve a model until interrupted; prints `READY <url>` once it answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory or model.tar.gz")
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        server = ModelServer(resolve_model_dir(args.model), args.endpoint_name, args.host, args.port)
    except (ModelPathError, OSError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from error
    print(f"READY {server.url}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
