"""Static int8 quantization of the exported ONNX model, shipped only when it counts as well as fp32.

Activation ranges are calibrated on training images; the int8 model is then compared with the fp32
one on held-out images and kept only if its accuracy is at most one point lower. On CPUs with
int8 dot-product instructions (VNNI) it serves about 1.7x faster (see bench/RESULTS.md).
Dynamic (weights-only) quantization is not offered: on this convolutional network it is slower.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CALIBRATION_IMAGES = 256
MAX_ACCURACY_DROP = 0.01


@dataclass(frozen=True)
class Int8Check:
    fp32_accuracy: float
    int8_accuracy: float
    images: int

    @property
    def acceptable(self) -> bool:
        return self.int8_accuracy >= self.fp32_accuracy - MAX_ACCURACY_DROP


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizer logs one INFO line per rescaled weight on the root logger: hundreds per model."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_static_int8(fp32_path: Path, int8_path: Path, calibration: Sequence[np.ndarray]) -> None:
    """QDQ int8 model (per-channel int8 weights, uint8 activations) calibrated on `calibration` batches."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.remaining = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.remaining, None)
            return None if batch is None else {"image": batch}

    with tempfile.TemporaryDirectory() as scratch, _quiet_root_logger():
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))
        quantize_static(
            prepared,
            int8_path,
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


def onnx_accuracy(path: Path, inputs: Sequence[np.ndarray], targets: Sequence[int]) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    predictions = [int(session.run(None, {"image": batch})[0].argmax()) for batch in inputs]
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


def export_int8(
    fp32_path: Path,
    int8_path: Path,
    calibration: Sequence[np.ndarray],
    held_out: Sequence[np.ndarray],
    targets: Sequence[int],
) -> Int8Check | None:
    """Quantize and compare; the int8 file is left in place only when the check passes."""
    try:
        quantize_static_int8(fp32_path, int8_path, calibration)
        check = Int8Check(
            onnx_accuracy(fp32_path, held_out, targets),
            onnx_accuracy(int8_path, held_out, targets),
            len(targets),
        )
    # What ONNX Runtime's quantizer raises for an unsupported graph or a failed run: it only costs speed,
    # fp32 ONNX is still served (training.int8 in model_config.json records it).
    except (RuntimeError, ValueError, TypeError, KeyError, ImportError, OSError) as error:
        logger.warning("int8 quantization skipped: %s: %s", type(error).__name__, error)
        int8_path.unlink(missing_ok=True)
        return None
    verdict = "shipping it" if check.acceptable else "not shipping it"
    logger.info(
        "int8 model: held-out accuracy %.4f vs fp32 %.4f on %d images; %s",
        check.int8_accuracy,
        check.fp32_accuracy,
        check.images,
        verdict,
    )
    if not check.acceptable:
        int8_path.unlink(missing_ok=True)
    return check
