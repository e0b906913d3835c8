"""Serving logic behind inference.py: load a model directory, read a request, predict, write the JSON answer.

The model runs on ONNX Runtime when the directory holds an ONNX model and onnxruntime is installed
(the int8 model when training shipped one), otherwise on PyTorch (same weights). Images are prepared
by `countnet.preprocessing`, exactly as in training. Every problem with a request raises a
`countnet.errors` exception that the container answers with a 4xx status and a message, and the
process stays up.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from contracts.model_answer import model_answer
from countnet.errors import (
    BadImageError,
    NotAcceptableError,
    PayloadTooLargeError,
    UnsupportedContentTypeError,
)
from countnet.model_config import INT8_ONNX_FILE, ONNX_FILE, RUNTIMES, WEIGHTS_FILE, ModelConfig
from countnet.preprocessing import (
    DEFAULT_MAX_PIXELS,
    ImageTooLargeError,
    UnreadableImageError,
    open_image,
    prepare_image,
    to_tensor,
)

logger = logging.getLogger(__name__)

# The image travels in the request, and only there: the endpoint fetches nothing (it runs network-isolated),
# so no caller can make it read an object, or learn from its errors whether a key exists.
IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-image")
JSON_CONTENT_TYPE = "application/json"
SUPPORTED_CONTENT_TYPES = IMAGE_CONTENT_TYPES
ACCEPTED_RESPONSE_TYPES = ("", "*/*", JSON_CONTENT_TYPE, "application/*")
# SageMaker's InvokeEndpoint takes at most 6 MB per request. TorchServe in the inference container refuses
# bodies over 6,553,500 bytes (its max_request_size) with a bare 413 before the handler runs, so the
# handler's own limit sits below that and an over-size body that reaches it gets a message.
MAX_BODY_BYTES = 6 * 2**20
THREADS_ENV = "COUNTNET_INFERENCE_THREADS"


SPIN_MICROSECONDS = 50


class OnnxRunner:
    """An ONNX Runtime session on the CPU, set up for one request at a time."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Worker threads spin between operators, where waking a sleeping thread costs more than a small
        # operator, but only briefly, so that after the run they leave the cores to the request thread
        # decoding the next image. Never spinning cost 13% of int8 throughput (bench/RESULTS.md,
        # benchmark 2); ONNX Runtime's open-ended default once halved throughput and tripled p95 latency
        # on 2 cores, though on today's graph it measured about level with this setting.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.intra_op.spin_duration_us", str(SPIN_MICROSECONDS))
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def logits(self, batch: torch.Tensor) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch.numpy()})[0]


class _TorchRunner:
    def __init__(self, model_dir: Path, config: ModelConfig, threads: int | None) -> None:
        from countnet.model import create_network

        if threads:
            torch.set_num_threads(threads)
        self.network = create_network(config.backbone, config.label_space.num_classes)
        state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        self.network.load_state_dict(state)
        self.network.eval()

    def logits(self, batch: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return self.network(batch).numpy()


@dataclass
class CountModel:
    """A loaded model and its settings; what model_fn returns and predict_fn receives."""

    config: ModelConfig
    runner: OnnxRunner | _TorchRunner
    runtime: str

    def logits(self, batch: torch.Tensor) -> np.ndarray:
        """Uncalibrated logits; with flip views, each photo's averaged with its mirror image's, exactly as
        validation computed them when the model was chosen."""
        if not self.config.flip_views:
            return self.runner.logits(batch).astype(np.float64)
        both = self.runner.logits(torch.cat([batch, batch.flip(-1)])).astype(np.float64)
        return (both[: len(batch)] + both[len(batch) :]) / 2

    def probabilities(self, batch: torch.Tensor) -> np.ndarray:
        """Class probabilities, temperature-scaled when the model carries a calibrated rule."""
        logits = self.logits(batch)
        if self.config.reconciliation is not None:
            logits = logits / self.config.reconciliation.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)


_RUNTIME_FILES = {"onnx-int8": INT8_ONNX_FILE, "onnx": ONNX_FILE, "torch": WEIGHTS_FILE}


def _runtimes_to_try(model_dir: Path, config: ModelConfig, runtime: str) -> list[str]:
    """`auto`: the saved runtime, then the slower ones whose files exist (int8 ONNX > ONNX > PyTorch)."""
    if runtime != "auto":
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be auto or one of {RUNTIMES}, got {runtime!r}")
        if not (model_dir / _RUNTIME_FILES[runtime]).is_file():
            raise FileNotFoundError(
                f"{model_dir / _RUNTIME_FILES[runtime]} not found; choose another runtime"
            )
        return [runtime]
    ordered = RUNTIMES[RUNTIMES.index(config.runtime) :]
    return [name for name in ordered if (model_dir / _RUNTIME_FILES[name]).is_file()]


def load_count_model(model_dir: str | Path, runtime: str = "auto") -> CountModel:
    """Load a model directory written by train.py; `runtime` is auto, onnx-int8, onnx or torch."""
    model_dir = Path(model_dir)
    config = ModelConfig.read(model_dir)
    threads = int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None
    for name in _runtimes_to_try(model_dir, config, runtime):
        runner = _open_runner(model_dir, config, name, threads, fall_back=runtime == "auto")
        if runner is not None:
            logger.info("loaded %s (%s, runtime %s)", config.model_version, config.backbone, name)
            return CountModel(config=config, runner=runner, runtime=name)
    raise FileNotFoundError(f"{model_dir} holds no model this machine can serve ({WEIGHTS_FILE} or ONNX)")


def _open_runner(
    model_dir: Path, config: ModelConfig, name: str, threads: int | None, fall_back: bool
) -> OnnxRunner | _TorchRunner | None:
    if name == "torch":
        return _TorchRunner(model_dir, config, threads)
    try:
        return OnnxRunner(model_dir / _RUNTIME_FILES[name], threads)
    except ImportError:
        if not fall_back:
            raise
        logger.warning("onnxruntime is not installed: serving %s without ONNX Runtime", model_dir)
        return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_request(body: bytes | bytearray | str | None, content_type: str | None) -> Image.Image:
    """Check the request and open its image (header only); decoding happens in `predict`."""
    media_type = _media_type(content_type)
    if media_type not in SUPPORTED_CONTENT_TYPES:
        # The inference toolkit passes None when the request has no Content-Type header.
        named = f"content type {content_type!r} is not supported" if content_type else "no content type"
        raise UnsupportedContentTypeError(
            f"{named}; send the image's bytes as {', '.join(IMAGE_CONTENT_TYPES)}"
        )
    if not body:
        raise BadImageError("the request body is empty; send the bytes of a JPEG or PNG image")
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the request body is over {MAX_BODY_BYTES // 2**20} MB; send a smaller image"
        )
    if isinstance(body, str):
        raise BadImageError(
            f"the body arrived as text, not image bytes; check the content type ({content_type})"
        )
    else:
        data = bytes(body)
    try:
        return open_image(data, DEFAULT_MAX_PIXELS)
    except ImageTooLargeError as error:
        raise PayloadTooLargeError(str(error)) from error
    except UnreadableImageError as error:
        raise BadImageError(f"the body is not a readable JPEG or PNG image: {error}") from error


def predict(image: Image.Image, model: CountModel) -> dict[str, Any]:
    """Decode, prepare and count one image; returns the endpoint's answer (`contracts.model_answer`)."""
    preprocessing = model.config.preprocessing
    try:
        tensor = to_tensor(prepare_image(image, preprocessing), preprocessing)
    except UnreadableImageError as error:
        raise BadImageError(f"the image could not be decoded: {error}") from error
    probabilities = model.probabilities(tensor.unsqueeze(0))[0]
    label_space = model.config.label_space
    best = int(probabilities.argmax())
    return model_answer(
        count=label_space.count_of(best),
        label=label_space.labels[best],
        confidence=round(float(probabilities[best]), 6),
        probabilities={
            label: round(float(p), 6) for label, p in zip(label_space.labels, probabilities, strict=True)
        },
        model_version=model.config.model_version,
        rule=model.config.reconciliation,
    )


def render_response(prediction: dict[str, Any], accept: str | None) -> str:
    """The prediction as JSON; JSON is the only response type."""
    if _media_type(accept) not in ACCEPTED_RESPONSE_TYPES:
        raise NotAcceptableError(
            f"accept type {accept!r} is not available; this endpoint answers {JSON_CONTENT_TYPE}"
        )
    return json.dumps(prediction)
