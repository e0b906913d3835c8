"""Write the model directory that becomes model.tar.gz, ready for CreateModel without the SDK's repack.

Layout (docs/ARCHITECTURE.md): model.pt, model.onnx (when the export checks out), model.int8.onnx
(when quantization keeps the accuracy), model_config.json,
evaluation.json, confusion_matrix.png, and code/ with inference.py, a copy of countnet and a
requirements.txt naming only what the PyTorch inference container lacks, pinned to the versions
training used.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from countnet.model import TIMM_BACKBONES
from countnet.model_config import (
    CONFUSION_MATRIX_FILE,
    EVALUATION_FILE,
    INT8_ONNX_FILE,
    ONNX_FILE,
    WEIGHTS_FILE,
    ModelConfig,
)
from countnet.onnx_export import export_onnx
from countnet.plots import plot_confusion_matrix
from countnet.preprocessing import Preprocessing, load_tensor
from countnet.quantization import CALIBRATION_IMAGES, export_int8

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
INFERENCE_SCRIPT = PACKAGE_DIR.parent / "inference.py"


def serving_requirements(backbone: str, runtime: str) -> list[str]:
    """Pins for code/requirements.txt: timm for timm backbones, onnxruntime for ONNX serving."""
    needed = (["timm"] if backbone in TIMM_BACKBONES else []) + (
        ["onnxruntime"] if runtime.startswith("onnx") else []
    )
    return [f"{name}=={metadata.version(name)}" for name in needed]


def copy_serving_code(code_dir: Path, requirements: list[str]) -> None:
    """inference.py + countnet/ + requirements.txt: self-contained, as the container needs it."""
    if code_dir.exists():
        shutil.rmtree(code_dir)
    code_dir.mkdir(parents=True)
    shutil.copy2(INFERENCE_SCRIPT, code_dir / "inference.py")
    shutil.copytree(PACKAGE_DIR, code_dir / "countnet", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (code_dir / "requirements.txt").write_text("".join(f"{line}\n" for line in requirements))


def write_evaluation(directory: Path, evaluation: dict[str, Any], title: str) -> None:
    """evaluation.json and the confusion-matrix PNG of its headline split."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=2) + "\n")
    plot_confusion_matrix(
        evaluation["confusion_matrix"], evaluation["labels"], directory / CONFUSION_MATRIX_FILE, title
    )


@dataclass(frozen=True)
class Int8Inputs:
    """Images for int8 quantization: training images to calibrate on, labelled held-out images to check.

    Checked on validation: the choice between int8 and fp32 is a selection like any other, so the test
    split never takes part in it.
    """

    calibration: Sequence[Path]
    check_images: Sequence[Path]
    check_targets: Sequence[int]
    check_split: str


def _batches(paths: Sequence[Path], preprocessing: Preprocessing) -> list[np.ndarray]:
    return [load_tensor(Path(path), preprocessing).unsqueeze(0).numpy() for path in paths]


def _quantize(model_dir: Path, preprocessing: Preprocessing, inputs: Int8Inputs) -> dict[str, Any]:
    check = export_int8(
        model_dir / ONNX_FILE,
        model_dir / INT8_ONNX_FILE,
        _batches(inputs.calibration[:CALIBRATION_IMAGES], preprocessing),
        _batches(inputs.check_images, preprocessing),
        inputs.check_targets,
    )
    if check is None:
        return {"shipped": False, "reason": "quantization failed"}
    return {
        "shipped": check.acceptable,
        "checked_on": inputs.check_split,
        "images": check.images,
        "int8_accuracy": check.int8_accuracy,
        "fp32_accuracy": check.fp32_accuracy,
    }


def write_model_dir(
    model_dir: Path,
    model: nn.Module,
    config: ModelConfig,
    *,
    with_onnx: bool = True,
    int8_inputs: Int8Inputs | None = None,
) -> ModelConfig:
    """Write everything serving needs; returns the config as saved (runtime: int8 ONNX, ONNX or PyTorch).

    The reconciliation rule and the evaluation come after, from the model as served (`finish_model_dir`).
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval().to("cpu")
    torch.save(model.state_dict(), model_dir / WEIGHTS_FILE)
    (model_dir / INT8_ONNX_FILE).unlink(missing_ok=True)
    exported = with_onnx and export_onnx(model, config.preprocessing.image_size, model_dir / ONNX_FILE)
    if not exported:
        (model_dir / ONNX_FILE).unlink(missing_ok=True)
    training = dict(config.training)
    if exported and int8_inputs is not None and int8_inputs.check_images:
        training["int8"] = _quantize(model_dir, config.preprocessing, int8_inputs)
    runtime = "onnx-int8" if (model_dir / INT8_ONNX_FILE).is_file() else "onnx" if exported else "torch"
    saved = replace(config, runtime=runtime, training=training)
    saved.write(model_dir)
    copy_serving_code(model_dir / "code", serving_requirements(config.backbone, saved.runtime))
    logger.info("model directory %s written (runtime %s)", model_dir, saved.runtime)
    return saved


def finish_model_dir(model_dir: Path, config: ModelConfig, evaluation: dict[str, Any]) -> None:
    """Save the config with its reconciliation rule, evaluation.json and the confusion-matrix PNG."""
    config.write(model_dir)
    evaluation = {**evaluation, "serving_runtime": config.runtime, "int8": config.training.get("int8")}
    split = evaluation.get("split", "validation")
    write_evaluation(
        model_dir, evaluation, f"{config.model_version}\n{split} set, {evaluation['samples']} images"
    )
