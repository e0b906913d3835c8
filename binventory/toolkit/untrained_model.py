"""An untrained model directory written by the real packaging code: quick to make, and all that serving checks
and the cold-start benchmark need (they measure the plumbing, not the counting)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from countnet.labels import LabelSpace
from countnet.model import create_network, default_preprocessing
from countnet.model_config import ModelConfig
from countnet.packaging import finish_model_dir, write_model_dir

from contracts.model_answer import LIKELIHOOD_RATIO, EvidenceRule

BACKBONE = "tf_efficientnet_lite0"  # the smallest backbone, and the one served by default
LABEL_SPACE = LabelSpace(max_count=5)
RULE = EvidenceRule(
    LIKELIHOOD_RATIO,
    temperature=1.5,
    slope=1.0,
    intercept=0.0,
    class_prior=dict.fromkeys(LABEL_SPACE.labels, 1 / LABEL_SPACE.num_classes),
)


def write_untrained_model_dir(model_dir: Path, image_size: int) -> Path:
    """An untrained lite0 written exactly as train.py writes a model, with an evidence rule."""
    label_space = LABEL_SPACE
    config = ModelConfig(
        backbone=BACKBONE,
        label_space=label_space,
        preprocessing=default_preprocessing(BACKBONE, image_size),
        model_version=f"countnet-{BACKBONE}-20260101T000000Z",
    )
    evaluation = {
        "counting": {
            "all": {
                "samples": 1,
                "accuracy": 1.0,
                "labels": label_space.labels,
                "confusion_matrix": [[1 if i == j == 0 else 0 for j in range(6)] for i in range(6)],
            }
        }
    }
    saved = write_model_dir(model_dir, create_network(BACKBONE, label_space.num_classes), config)
    finish_model_dir(model_dir, replace(saved, reconciliation=RULE), evaluation)
    return model_dir
