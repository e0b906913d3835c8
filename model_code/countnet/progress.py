"""A one-line batch progress bar, drawn only when stdout is a terminal so job logs stay clean."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class BatchProgress:
    """`epoch 3 [#######.....] 70/100 loss 1.23 41 img/s`, redrawn in place; silent when not a TTY."""

    WIDTH = 24

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.enabled = self.stream.isatty() and total > 0
        self.total = total
        self.label = label
        self.done = 0
        self.images = 0
        self.started = time.perf_counter()

    def update(self, batch_images: int, loss: float) -> None:
        self.done += 1
        self.images += batch_images
        if not self.enabled:
            return
        filled = round(self.WIDTH * self.done / self.total)
        rate = self.images / max(time.perf_counter() - self.started, 1e-9)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} loss {loss:.3f} {rate:.0f} img/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.WIDTH + 60) + "\r")
            self.stream.flush()
