"""Write the model directory that becomes model.tar.gz, ready for CreateModel without the SDK's repack.

Layout (docs/ARCHITECTURE.md): model.pt, model.onnx (when the export checks out), model.int8.onnx
(when quantization keeps the accuracy), model_config.json,
evaluation.json, confusion_matrix.png, and code/ with inference.py, copies of countnet and of the
contracts it imports and, in code/lib, the installed packages serving needs that the PyTorch inference
container lacks (`countnet.vendoring`), so the endpoint installs nothing when it starts.
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

import contracts
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
from countnet.vendoring import LIB_DIR, VendoringRefusal, ship_distributions

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
# The contracts countnet imports (answer fields, reconciliation rule), wherever this process found them:
# the repository's contracts/ on a laptop, the training source's in the SageMaker container.
CONTRACTS_DIR = Path(contracts.__file__).resolve().parent
INFERENCE_SCRIPT = PACKAGE_DIR.parent / "inference.py"


def serving_packages(backbone: str, runtime: str) -> list[str]:
    """What serving imports beyond the container: onnxruntime for ONNX serving, timm only when PyTorch
    serves a timm backbone (an ONNX model needs no network definition)."""
    return (["onnxruntime"] if runtime.startswith("onnx") else []) + (
        ["timm"] if runtime == "torch" and backbone in TIMM_BACKBONES else []
    )


def _pin(name: str) -> str:
    try:
        return f"{name}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


def copy_serving_code(code_dir: Path, packages: list[str]) -> None:
    """inference.py + countnet/ + contracts/ + lib/ with `packages` and what they need: self-contained,
    as the container needs it.

    When the packages cannot be copied for the container, code/requirements.txt pins them instead,
    and the container pip-installs them from PyPI at every start.
    """
    if code_dir.exists():
        shutil.rmtree(code_dir)
    code_dir.mkdir(parents=True)
    shutil.copy2(INFERENCE_SCRIPT, code_dir / "inference.py")
    caches = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE_DIR, code_dir / "countnet", ignore=caches)
    shutil.copytree(CONTRACTS_DIR, code_dir / "contracts", ignore=caches)
    if not packages:
        return
    try:
        shipped = ship_distributions(packages, code_dir / LIB_DIR)
    except VendoringRefusal as refusal:
        logger.warning(
            "NOT SHIPPING %s INSIDE THE MODEL: %s. The endpoint will pip-install them from PyPI at every "
            "start instead (slow cold starts, and no start when PyPI is unreachable). Package on CPython "
            "3.12 x86_64 Linux, as the SageMaker training container does, to ship them.",
            ", ".join(packages),
            refusal,
        )
        (code_dir / "requirements.txt").write_text("".join(f"{_pin(name)}\n" for name in packages))
        return
    size = sum(path.stat().st_size for path in (code_dir / LIB_DIR).rglob("*") if path.is_file())
    logger.info(
        "shipped %s in code/%s (%.0f MB)",
        ", ".join(f"{name} {version}" for name, version in shipped.items()),
        LIB_DIR,
        size / 2**20,
    )


def write_evaluation(directory: Path, evaluation: dict[str, Any], title: str) -> None:
    """evaluation.json and the confusion-matrix PNG of its headline split (every photo, every count)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=2) + "\n")
    counting = evaluation["counting"]["all"]
    plot_confusion_matrix(
        counting["confusion_matrix"], counting["labels"], directory / CONFUSION_MATRIX_FILE, title
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
        "agreement": check.agreement,
        "only_fp32_right": check.only_fp32_right,
        "only_int8_right": check.only_int8_right,
        "expected_probability_gap": check.expected_probability_gap,
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
    copy_serving_code(model_dir / "code", serving_packages(config.backbone, saved.runtime))
    logger.info("model directory %s written (runtime %s)", model_dir, saved.runtime)
    return saved


def finish_model_dir(model_dir: Path, config: ModelConfig, evaluation: dict[str, Any]) -> None:
    """Save the config with its evidence rule, evaluation.json and the confusion-matrix PNG."""
    config.write(model_dir)
    evaluation = {**evaluation, "serving_runtime": config.runtime, "int8": config.training.get("int8")}
    split = evaluation.get("split", "validation")
    samples = evaluation["counting"]["all"]["samples"]
    write_evaluation(model_dir, evaluation, f"{config.model_version}\n{split} set, {samples} images")
