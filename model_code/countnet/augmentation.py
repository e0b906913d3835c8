"""Training augmentation on whole batches, on the training device: flips, small shifts, lighting.

Bins are shot from the front through a net and tape, so a horizontal flip, a slight rotation, a
small shift or zoom-out, and brightness / contrast / saturation changes give new but plausible
photos of the same count. Random crops are left out on purpose (a crop can cut an item out of the
frame and silently make the label wrong), and so are vertical flips (bins are never upside down).
Working on the batch tensor keeps the DataLoader to decoding only and lets a GPU do this work.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional

MAX_ROTATION_DEGREES = 3.0
MAX_SHIFT = 0.03  # of the image width / height
ZOOM_OUT = (0.92, 1.0)  # image scale; below 1 leaves a black border instead of cropping
BRIGHTNESS = 0.3
CONTRAST = 0.3
SATURATION = 0.2
_LUMA = (0.299, 0.587, 0.114)


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator).to(device)


def augment_batch(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Augment float images in [0, 1] (N x 3 x H x W, any device); returns a new tensor in [0, 1].

    `generator` is a CPU generator, so a seed gives the same augmentation on every device.
    """
    n, device = images.shape[0], images.device
    flip = (torch.rand(n, generator=generator) < 0.5).to(device)
    images = torch.where(flip.view(n, 1, 1, 1), images.flip(-1), images)

    angle = _uniform(n, -1.0, 1.0, generator, device) * math.radians(MAX_ROTATION_DEGREES)
    inverse_scale = 1.0 / _uniform(n, *ZOOM_OUT, generator, device)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = torch.cos(angle) * inverse_scale
    theta[:, 0, 1] = -torch.sin(angle) * inverse_scale
    theta[:, 1, 0] = torch.sin(angle) * inverse_scale
    theta[:, 1, 1] = torch.cos(angle) * inverse_scale
    theta[:, 0, 2] = _uniform(n, -2 * MAX_SHIFT, 2 * MAX_SHIFT, generator, device)  # grid units span 2
    theta[:, 1, 2] = _uniform(n, -2 * MAX_SHIFT, 2 * MAX_SHIFT, generator, device)
    grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
    images = functional.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def factor(spread: float) -> torch.Tensor:
        return _uniform(n, 1.0 - spread, 1.0 + spread, generator, device).view(n, 1, 1, 1)

    images = images * factor(BRIGHTNESS)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * factor(CONTRAST) + mean
    luma = sum(weight * images[:, channel : channel + 1] for channel, weight in enumerate(_LUMA))
    images = (images - luma) * factor(SATURATION) + luma
    return images.clamp(0.0, 1.0)
