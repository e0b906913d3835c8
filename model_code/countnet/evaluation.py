"""Running a model over a labelled loader: logits, probabilities, predictions and the mean loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from countnet.loading import UnreadableImageLog
from countnet.preprocessing import Preprocessing, normalize


@dataclass
class Predictions:
    image_ids: list[str]
    y_true: list[int]
    y_pred: list[int]
    logits: torch.Tensor  # averaged over the test-time views
    probabilities: torch.Tensor
    loss: float


def model_logits(model: nn.Module, images: torch.Tensor, flip_views: bool) -> torch.Tensor:
    """Logits of normalised images; with `flip_views`, the mean over the photo and its mirror image."""
    logits = model(images).float()
    if flip_views:
        logits = (logits + model(images.flip(-1)).float()) / 2
    return logits


@torch.inference_mode()
def predict_loader(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    preprocessing: Preprocessing,
    *,
    flip_views: bool = False,
    loss_fn: nn.Module | None = None,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    unreadable: UnreadableImageLog | None = None,
) -> Predictions:
    """Evaluate `model` (put in eval mode) on every readable image of `loader`."""
    model.eval()
    image_ids: list[str] = []
    y_true: list[int] = []
    chunks: list[torch.Tensor] = []
    loss_sum, seen = 0.0, 0
    for batch in loader:
        if unreadable is not None:
            unreadable.record(batch.unreadable)
        if not batch.image_ids:
            continue
        images = normalize(batch.images.to(device, non_blocking=True), preprocessing)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = batch.targets.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model_logits(model, images, flip_views)
        if loss_fn is not None:
            loss_sum += float(loss_fn(logits, targets)) * len(targets)
        seen += len(targets)
        chunks.append(logits.cpu())
        image_ids.extend(batch.image_ids)
        y_true.extend(batch.targets.tolist())
    if not seen:
        raise ValueError("no readable image to evaluate: every image in this split failed to decode")
    logits = torch.cat(chunks)
    probabilities = logits.softmax(dim=1)
    return Predictions(
        image_ids=image_ids,
        y_true=y_true,
        y_pred=probabilities.argmax(dim=1).tolist(),
        logits=logits,
        probabilities=probabilities,
        loss=loss_sum / seen if loss_fn is not None else float("nan"),
    )
