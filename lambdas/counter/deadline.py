"""How long an invocation may still work: what cannot finish in time is left for SQS to deliver again."""

from __future__ import annotations

import math
from dataclasses import dataclass
from time import monotonic


class OutOfTime(Exception):
    """Too little time is left before the invocation's deadline to start this work."""


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock after which no new work should start."""

    at: float  # monotonic() seconds; math.inf for no deadline

    @classmethod
    def in_seconds(cls, seconds: float) -> Deadline:
        return cls(monotonic() + seconds)

    def extended(self, seconds: float) -> Deadline:
        """The same deadline, `seconds` later."""
        return Deadline(self.at + seconds)

    def remaining(self) -> float:
        """Seconds left (negative once passed; infinite without a deadline)."""
        return self.at - monotonic()


NO_DEADLINE = Deadline(math.inf)
