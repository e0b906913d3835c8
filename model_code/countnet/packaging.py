"""Write the model directory that becomes model.tar.gz, ready for CreateModel without the SDK's repack.

Layout (docs/ARCHITECTURE.md): model.pt, model.onnx (when the export checks out), model_config.json,
evaluation.json, confusion_matrix.png, and code/ with inference.py, a copy of countnet and a
requirements.txt naming only what the PyTorch inference container lacks, pinned to the versions
training used.
"""

from __future__ import annotations

import json
import logging
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from countnet.model import TIMM_BACKBONES
from countnet.model_config import (
    CONFUSION_MATRIX_FILE,
    EVALUATION_FILE,
    ONNX_FILE,
    WEIGHTS_FILE,
    ModelConfig,
)
from countnet.onnx_export import export_onnx
from countnet.plots import plot_confusion_matrix

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
INFERENCE_SCRIPT = PACKAGE_DIR.parent / "inference.py"


def serving_requirements(backbone: str, runtime: str) -> list[str]:
    """Pins for code/requirements.txt: timm for timm backbones, onnxruntime for ONNX serving."""
    needed = (["timm"] if backbone in TIMM_BACKBONES else []) + (["onnxruntime"] if runtime == "onnx" else [])
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


def write_model_dir(
    model_dir: Path,
    model: nn.Module,
    config: ModelConfig,
    evaluation: dict[str, Any],
    *,
    with_onnx: bool = True,
) -> ModelConfig:
    """Write everything serving needs; returns the config as saved (its runtime says ONNX or PyTorch)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval().to("cpu")
    torch.save(model.state_dict(), model_dir / WEIGHTS_FILE)
    exported = with_onnx and export_onnx(model, config.preprocessing.image_size, model_dir / ONNX_FILE)
    if not exported:
        (model_dir / ONNX_FILE).unlink(missing_ok=True)
    saved = ModelConfig(
        backbone=config.backbone,
        label_space=config.label_space,
        preprocessing=config.preprocessing,
        model_version=config.model_version,
        runtime="onnx" if exported else "torch",
        training=config.training,
    )
    saved.write(model_dir)
    split = evaluation.get("split", "validation")
    write_evaluation(
        model_dir, evaluation, f"{config.model_version}\n{split} set, {evaluation['samples']} images"
    )
    copy_serving_code(model_dir / "code", serving_requirements(config.backbone, saved.runtime))
    logger.info("model directory %s written (runtime %s)", model_dir, saved.runtime)
    return saved
