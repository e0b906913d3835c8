"""PyTorch datasets and loaders over labelled samples, skipping unreadable images instead of crashing.

Datasets yield each image decoded and resized to the model's input size as uint8 (a quarter of the
memory of floats); augmentation and normalisation happen per batch on the training device. With
`keep_in_memory` a dataset keeps what it decoded, so on a CPU each photo is decoded once, not once
per epoch (the ABID sample at 224 px is about 1.5 GB).

A DataLoader asks for a whole batch at once, and the dataset reads and decodes the batch's images
with a few threads: from a FastFile channel each file waits tens of milliseconds on S3, which one
process reading one file at a time could never hide; PIL releases the GIL while it decodes and
resizes, so the threads also decode in parallel.

An image that fails to decode mid-epoch is dropped from its batch and its id travels back with the
batch (so it is also reported from DataLoader worker processes); the training loop names each one
once and gives a count at the end.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from countnet.data import Sample
from countnet.preprocessing import (
    ImageTooLargeError,
    Preprocessing,
    UnreadableImageError,
    open_image,
    prepare_image,
    to_uint8_tensor,
)

logger = logging.getLogger(__name__)
# Images each loader process reads at once: enough to cover S3's per-file wait (tens of ms) with a
# few thousand images/s over all processes, few enough to stay cheap on a local disk.
READ_THREADS = 16


class BinImageDataset(Dataset):
    """(uint8 image, class index, image id, problem) per sample; no image and the problem when unreadable."""

    def __init__(
        self,
        samples: Sequence[Sample],
        targets: Sequence[int],
        preprocessing: Preprocessing,
        *,
        keep_in_memory: bool = False,
    ) -> None:
        if len(samples) != len(targets):
            raise ValueError(f"{len(samples)} samples but {len(targets)} targets")
        self.samples = list(samples)
        self.targets = list(targets)
        self.preprocessing = preprocessing
        self.keep_in_memory = keep_in_memory
        self._decoded: dict[int, tuple[torch.Tensor | None, str]] = {}
        self._readers: tuple[int, ThreadPoolExecutor] | None = None  # (process id, pool)

    def __len__(self) -> int:
        return len(self.samples)

    def _decode(self, index: int) -> tuple[torch.Tensor | None, str]:
        sample = self.samples[index]
        try:
            return to_uint8_tensor(prepare_image(open_image(sample.path), self.preprocessing)), ""
        except (UnreadableImageError, ImageTooLargeError, OSError) as error:
            return None, f"{sample.path}: {error}"

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, int, str, str]:
        decoded = self._decoded.get(index) if self.keep_in_memory else None
        if decoded is None:
            decoded = self._decode(index)
            if self.keep_in_memory:
                self._decoded[index] = decoded
        image, problem = decoded
        return image, self.targets[index], self.samples[index].image_id, problem

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor | None, int, str, str]]:
        """One batch, its images read and decoded by `READ_THREADS` threads (DataLoader calls this)."""
        if len(indices) < 2:
            return [self[index] for index in indices]
        return list(self._reader_pool().map(self.__getitem__, indices))

    def _reader_pool(self) -> ThreadPoolExecutor:
        # One pool per process: a DataLoader worker forked from this process must not reuse its threads.
        if self._readers is None or self._readers[0] != os.getpid():
            self._readers = (os.getpid(), ThreadPoolExecutor(READ_THREADS, thread_name_prefix="read"))
        return self._readers[1]

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for spawned DataLoader workers: each process starts its own reader threads."""
        return {**self.__dict__, "_readers": None}


@dataclass
class Batch:
    images: torch.Tensor
    targets: torch.Tensor
    image_ids: list[str]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (image id, what went wrong)


def collate_readable(items: list[tuple[torch.Tensor | None, int, str, str]]) -> Batch:
    """Stack the readable images; keep the failures' descriptions for the report."""
    readable = [item for item in items if item[0] is not None]
    unreadable = [(image_id, problem) for tensor, _, image_id, problem in items if tensor is None]
    if not readable:
        return Batch(torch.empty(0), torch.empty(0, dtype=torch.long), [], unreadable)
    return Batch(
        images=torch.stack([item[0] for item in readable]),
        targets=torch.tensor([item[1] for item in readable], dtype=torch.long),
        image_ids=[item[2] for item in readable],
        unreadable=unreadable,
    )


def make_loader(
    dataset: BinImageDataset,
    batch_size: int,
    workers: int,
    *,
    shuffle: bool = False,
    sampler: Sampler | None = None,
    seed: int = 0,
    pin_memory: bool = False,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader with seeded shuffling that reports unreadable images through its batches."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_readable,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        drop_last=drop_last,
    )


class UnreadableImageLog:
    """Names each unreadable image the first time it is met, and counts them."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def record(self, unreadable: Sequence[tuple[str, str]]) -> None:
        for image_id, problem in unreadable:
            if image_id not in self.seen:
                self.seen[image_id] = problem
                logger.warning("skipping unreadable image %s (%s)", image_id, problem)

    def summary(self) -> str | None:
        if not self.seen:
            return None
        return f"skipped {len(self.seen)} unreadable image(s): {', '.join(sorted(self.seen))}"
