"""Static int8 quantization of the exported ONNX model, shipped only when it counts as well as fp32.

Activation ranges are calibrated on training images; the int8 model is then compared with the fp32
one on held-out images, photo by photo, and kept only if it is faithful and not measurably worse:
- it names the same count as fp32 on at least `MIN_AGREEMENT` of the photos. A broken graph falls
  far below this; a sound one flips only near-ties. On the ABID validation photos, the old exporter's
  shape arithmetic (which the quantizer rounded) gave 72%, and the shipped graph gives 96%
  (bench/RESULTS.md, benchmark 5);
- its accuracy is not lower by a significant margin. The margin is judged on the photos where the two
  disagree, with a one-sided McNemar test at 5%. A fixed "within one point" rule is below the noise
  of a few hundred photos: at 7% disagreement on 400 photos the paired difference has a standard error
  of about 1.3 points, so such a rule decided by chance;
- the probabilities the decision reads stay close: P(expected) for each photo's true count and the
  counts one either side moves by at most `MAX_EXPECTED_PROBABILITY_GAP` on average. The verdict on a bin
  is made from those probabilities, not from the top count; a sound int8 graph moved them by 0.015 on
  average and the broken export by 0.128 (bench/RESULTS.md, benchmark 5).
On CPUs with int8 dot-product instructions (VNNI) it serves faster than fp32 (see bench/RESULTS.md).
Dynamic (weights-only) quantization is not offered: on this convolutional network it is slower.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CALIBRATION_IMAGES = 256
MIN_AGREEMENT = 0.90
SIGNIFICANT_Z = 1.645  # one-sided 5%
MAX_EXPECTED_PROBABILITY_GAP = 0.03


@dataclass(frozen=True)
class Int8Check:
    """The two runtimes' answers on the same labelled photos."""

    only_fp32_right: int
    only_int8_right: int
    both_right: int
    disagreements: int
    images: int
    expected_probability_gap: float = 0.0  # mean |P_int8 - P_fp32| of the true count and its neighbours

    @classmethod
    def compare(
        cls,
        fp32: Sequence[int],
        int8: Sequence[int],
        targets: Sequence[int],
        expected_probability_gap: float = 0.0,
    ) -> Int8Check:
        fp32_right = [p == t for p, t in zip(fp32, targets, strict=True)]
        int8_right = [p == t for p, t in zip(int8, targets, strict=True)]
        return cls(
            only_fp32_right=int(sum(f and not i for f, i in zip(fp32_right, int8_right, strict=True))),
            only_int8_right=int(sum(i and not f for f, i in zip(fp32_right, int8_right, strict=True))),
            both_right=int(sum(f and i for f, i in zip(fp32_right, int8_right, strict=True))),
            disagreements=int(sum(f != i for f, i in zip(fp32, int8, strict=True))),
            images=len(targets),
            expected_probability_gap=expected_probability_gap,
        )

    @property
    def fp32_accuracy(self) -> float:
        return (self.both_right + self.only_fp32_right) / self.images

    @property
    def int8_accuracy(self) -> float:
        return (self.both_right + self.only_int8_right) / self.images

    @property
    def agreement(self) -> float:
        return 1.0 - self.disagreements / self.images

    @property
    def worse_by_z(self) -> float:
        """McNemar's statistic: how many standard errors int8 trails fp32 by on the discordant photos."""
        discordant = self.only_fp32_right + self.only_int8_right
        if discordant == 0:
            return 0.0
        return (self.only_fp32_right - self.only_int8_right) / math.sqrt(discordant)

    @property
    def acceptable(self) -> bool:
        return (
            self.agreement >= MIN_AGREEMENT
            and self.worse_by_z < SIGNIFICANT_Z
            and self.expected_probability_gap <= MAX_EXPECTED_PROBABILITY_GAP
        )


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


def quantize_static_int8(
    fp32_path: Path, int8_path: Path, calibration: Sequence[np.ndarray], *, bias_correction: bool = True
) -> None:
    """QDQ int8 model (per-channel int8 weights, uint8 activations) calibrated on `calibration` batches,
    with its biases corrected for the int8 weights' rounding (`countnet.bias_correction`) unless told not
    to (the benchmark and tests compare with and without)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from countnet.bias_correction import correct_biases

    with tempfile.TemporaryDirectory() as scratch, _quiet_root_logger():
        prepared, first, corrected = (Path(scratch) / name for name in ("prepared", "first", "corrected"))
        quant_pre_process(str(fp32_path), str(prepared))
        if not bias_correction:
            _quantize_qdq(prepared, int8_path, calibration)
            return
        _quantize_qdq(prepared, first, calibration)
        model, layers = correct_biases(onnx.load(str(prepared)), onnx.load(str(first)), calibration)
        onnx.save(model, str(corrected))
        _quantize_qdq(corrected, int8_path, calibration)
    logger.info("int8 biases corrected for weight rounding in %d layers", layers)


def _quantize_qdq(fp32_path: Path, int8_path: Path, calibration: Sequence[np.ndarray]) -> None:
    """Plain post-training QDQ quantization of a prepared graph."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.remaining = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.remaining, None)
            return None if batch is None else {"image": batch}

    quantize_static(
        fp32_path,
        int8_path,
        Batches(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )


def onnx_logits(path: Path, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The model's logits for each batch in turn, stacked."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"image": batch})[0] for batch in inputs])


def onnx_predictions(path: Path, inputs: Sequence[np.ndarray]) -> list[int]:
    return [int(index) for index in onnx_logits(path, inputs).argmax(axis=1)]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def expected_probability_gap(
    fp32_logits: np.ndarray, int8_logits: np.ndarray, targets: Sequence[int]
) -> float:
    """Mean |P_int8 - P_fp32| over each photo's true class and the classes one either side: the
    probabilities the reconciliation reads for a right record and for an off-by-one one."""
    fp32, int8 = _softmax(fp32_logits), _softmax(int8_logits)
    gaps = [
        abs(int8[row, column] - fp32[row, column])
        for row, target in enumerate(targets)
        for column in (target - 1, target, target + 1)
        if 0 <= column < fp32.shape[1]
    ]
    return float(np.mean(gaps)) if gaps else 0.0


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
        fp32_logits, int8_logits = onnx_logits(fp32_path, held_out), onnx_logits(int8_path, held_out)
        check = Int8Check.compare(
            fp32_logits.argmax(axis=1).tolist(),
            int8_logits.argmax(axis=1).tolist(),
            targets,
            expected_probability_gap(fp32_logits, int8_logits, targets),
        )
    # What ONNX Runtime's quantizer raises for an unsupported graph or a failed run: it only costs speed,
    # fp32 ONNX is still served (training.int8 in model_config.json records it).
    except (RuntimeError, ValueError, TypeError, KeyError, ImportError, OSError) as error:
        logger.warning("int8 quantization skipped: %s: %s", type(error).__name__, error)
        int8_path.unlink(missing_ok=True)
        return None
    verdict = "shipping it" if check.acceptable else "not shipping it"
    logger.info(
        "int8 model: same count as fp32 on %.1f%% of %d held-out images (at least %.0f%% needed); "
        "accuracy %.4f vs fp32 %.4f (%d photos only fp32 got right, %d only int8: z=%.2f, %.2f "
        "counts as worse); P(expected) moved by %.4f on average (at most %.2f allowed); %s",
        100 * check.agreement,
        check.images,
        100 * MIN_AGREEMENT,
        check.int8_accuracy,
        check.fp32_accuracy,
        check.only_fp32_right,
        check.only_int8_right,
        check.worse_by_z,
        SIGNIFICANT_Z,
        check.expected_probability_gap,
        MAX_EXPECTED_PROBABILITY_GAP,
        verdict,
    )
    if not check.acceptable:
        int8_path.unlink(missing_ok=True)
    return check
