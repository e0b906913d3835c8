"""Batch progress: a one-line bar redrawn in place on a terminal, a plain line a minute in a job's log."""

from __future__ import annotations

import sys
import time
from typing import TextIO

LOG_EVERY_SECONDS = 60.0  # without a terminal, how often a progress line is written


class BatchProgress:
    """`epoch 3 [#######.....] 70/100 loss 1.23 41 img/s`, redrawn in place on a TTY; elsewhere the same
    figures as a line every `LOG_EVERY_SECONDS`, so a long epoch in a log file still shows it is moving."""

    WIDTH = 24

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty()
        self.total = total
        self.label = label
        self.done = 0
        self.images = 0
        self.started = time.perf_counter()
        self.last_line = self.started

    def update(self, batch_images: int, loss: float) -> None:
        self.done += 1
        self.images += batch_images
        if self.total <= 0:
            return
        now = time.perf_counter()
        rate = self.images / max(now - self.started, 1e-9)
        if self.interactive:
            filled = round(self.WIDTH * self.done / self.total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done}/{self.total} loss {loss:.3f} {rate:.0f} img/s"
            )
            self.stream.flush()
        elif now - self.last_line >= LOG_EVERY_SECONDS and self.done < self.total:
            self.last_line = now
            self.stream.write(
                f"{self.label}: batch {self.done}/{self.total} loss {loss:.3f} {rate:.1f} img/s\n"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.interactive and self.total > 0:
            self.stream.write("\r" + " " * (self.WIDTH + 60) + "\r")
            self.stream.flush()
