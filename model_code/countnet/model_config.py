"""`model_config.json`: everything serving needs to rebuild the model and prepare images as in training."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.model_answer import EvidenceRule
from countnet.labels import LabelSpace
from countnet.preprocessing import Preprocessing

CONFIG_FILE = "model_config.json"
WEIGHTS_FILE = "model.pt"
ONNX_FILE = "model.onnx"
INT8_ONNX_FILE = "model.int8.onnx"
EVALUATION_FILE = "evaluation.json"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
FORMAT_VERSION = 2  # 2: the evidence rule replaced the single P(expected) threshold
RUNTIMES = ("onnx-int8", "onnx", "torch")  # fastest first; serving falls back down the list


def make_model_version(backbone: str, when: datetime | None = None) -> str:
    """`countnet-resnet18-20261121T101500Z`: backbone and UTC training time."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return f"countnet-{backbone}-{moment:%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class ModelConfig:
    backbone: str
    label_space: LabelSpace
    preprocessing: Preprocessing
    model_version: str
    runtime: str = "torch"
    flip_views: bool = False
    reconciliation: EvidenceRule | None = None
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {self.runtime!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "model_version": self.model_version,
            "backbone": self.backbone,
            "classes": self.label_space.labels,
            "max_count": self.label_space.max_count,
            "over_max": self.label_space.over_max,
            **self.preprocessing.to_dict(),
            "runtime": self.runtime,
            "flip_views": self.flip_views,
            "reconciliation": self.reconciliation.to_dict() if self.reconciliation else None,
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        if values.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"model_config.json format_version {values.get('format_version')!r} is not {FORMAT_VERSION}; "
                "this model was written by a different countnet version"
            )
        label_space = LabelSpace.from_dict(values)
        if values.get("classes") != label_space.labels:
            raise ValueError(
                f"model_config.json classes {values.get('classes')} do not match max_count/over_max"
            )
        return cls(
            backbone=values["backbone"],
            label_space=label_space,
            preprocessing=Preprocessing.from_dict(values),
            model_version=values["model_version"],
            runtime=values.get("runtime", "torch"),
            flip_views=bool(values.get("flip_views", False)),
            reconciliation=(
                EvidenceRule.from_dict(values["reconciliation"]) if values.get("reconciliation") else None
            ),
            training=values.get("training", {}),
        )

    def write(self, model_dir: Path) -> Path:
        path = Path(model_dir) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, model_dir: Path) -> ModelConfig:
        path = Path(model_dir) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: is {model_dir} a model directory written by train.py?"
            )
        return cls.from_dict(json.loads(path.read_text()))
