"""How an image becomes a model input: the one definition shared by training, evaluation and serving.

Decoding asks libjpeg for a reduced-size decode (PIL draft mode) when the photo is much larger than
the model input, which makes big JPEGs several times cheaper to read; the image is then squashed to a
square `image_size` with the backbone's interpolation and normalised with its mean/std.
Training adds augmentation between resizing and normalising (see `train_augmentation`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

# A 12 MP phone photo is 12e6 pixels; anything past this is refused before it is decoded.
DEFAULT_MAX_PIXELS = 64_000_000
INTERPOLATIONS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UnreadableImageError(ValueError):
    """The bytes are not an image PIL can decode, or the image is truncated or corrupt."""


class ImageTooLargeError(ValueError):
    """The image's dimensions exceed the pixel limit; decoding it could exhaust memory."""


@dataclass(frozen=True)
class Preprocessing:
    """The settings saved with a model so serving prepares images exactly as training did."""

    image_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        if self.image_size < 16:
            raise ValueError(f"image_size must be at least 16 pixels, got {self.image_size}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {sorted(INTERPOLATIONS)}, got {self.interpolation!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Preprocessing:
        return cls(
            image_size=int(values["image_size"]),
            mean=tuple(float(v) for v in values["mean"]),
            std=tuple(float(v) for v in values["std"]),
            interpolation=str(values["interpolation"]),
        )


def open_image(source: bytes | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image lazily (header only) and refuse it early when it is not an image or too large."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        image = Image.open(stream)
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(
            f"image dimensions are above the {max_pixels / 1e6:.0f} MP limit ({error}); "
            "downscale it before sending"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableImageError(f"not a readable image ({error})") from error
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} pixels ({width * height / 1e6:.0f} MP), above the "
            f"{max_pixels / 1e6:.0f} MP limit; downscale it before sending"
        )
    if width == 0 or height == 0:
        raise UnreadableImageError(f"image has an empty dimension ({width}x{height})")
    return image


def prepare_image(image: Image.Image, preprocessing: Preprocessing) -> Image.Image:
    """Decode (at reduced size where possible) and resize to the model's square RGB input."""
    size = preprocessing.image_size
    try:
        image.draft("RGB", (size, size))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableImageError(f"image is truncated or corrupt ({error})") from error
    return image.resize((size, size), INTERPOLATIONS[preprocessing.interpolation])


def to_tensor(image: Image.Image, preprocessing: Preprocessing) -> torch.Tensor:
    """A resized RGB image as a normalised float CHW tensor."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
    mean = torch.tensor(preprocessing.mean).view(3, 1, 1) * 255.0
    std = torch.tensor(preprocessing.std).view(3, 1, 1) * 255.0
    return (pixels - mean) / std


def load_tensor(source: bytes | Path, preprocessing: Preprocessing) -> torch.Tensor:
    """Bytes or a file path to the model input tensor: what evaluation and serving both use."""
    return to_tensor(prepare_image(open_image(source), preprocessing), preprocessing)


def train_augmentation() -> Callable[[Image.Image], Image.Image]:
    """Augmentation that keeps the item count true for bin photos.

    Bins are shot from the front through a net and tape, so a horizontal flip, small shifts and
    lighting changes give new but plausible photos. Random crops are left out on purpose: a crop can
    cut an item out of the frame and silently make the label wrong. No vertical flips either: bins
    are never upside down.
    """
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=3, translate=(0.03, 0.03), scale=(0.92, 1.0)),
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.2, hue=0.02),
        ]
    )


class ImageToTensor:
    """Prepared image -> normalised tensor, augmented for training (a class: DataLoader workers pickle it)."""

    def __init__(self, preprocessing: Preprocessing, augment: bool) -> None:
        self.preprocessing = preprocessing
        self.augment = train_augmentation() if augment else None

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if self.augment is not None:
            image = self.augment(image)
        return to_tensor(image, self.preprocessing)
