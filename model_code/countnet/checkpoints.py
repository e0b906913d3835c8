"""Resumable training state in the checkpoint folder, so a spot interruption resumes where it stopped.

SageMaker syncs `/opt/ml/checkpoints` to S3 while training runs and restores it when a replacement
job starts. The state is written to a temporary file and renamed, so an interruption mid-write
never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.pt"


def sagemaker_checkpoint_dir() -> Path:
    """CheckpointConfig's default LocalPath, /opt/ml/checkpoints. Like every /opt/ml path the training
    toolkit uses, it moves with `SAGEMAKER_BASE_DIR` (set where the toolkit runs outside a container)."""
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")) / "checkpoints"


def default_checkpoint_dir() -> str:
    """SageMaker's checkpoint folder when it exists (checkpointing configured), else none."""
    folder = sagemaker_checkpoint_dir()
    return str(folder) if folder.is_dir() else ""


def save_checkpoint(directory: Path, state: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / CHECKPOINT_FILE
    partial = directory / (CHECKPOINT_FILE + ".partial")
    torch.save(state, partial)
    os.replace(partial, final)
    return final


def load_checkpoint(directory: Path, signature: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state when one exists for the same model setup; a different setup starts afresh."""
    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("signature") != signature:
        logger.warning(
            "ignoring checkpoint %s: it was written for %s, this run is %s; training starts from epoch 1",
            path,
            state.get("signature"),
            signature,
        )
        return None
    logger.info("resuming from checkpoint %s (epoch %d done)", path, state["epoch"])
    return state
