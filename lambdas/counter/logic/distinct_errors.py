"""Which failures are new: a traceback is worth logging once per distinct error, not once per record.

An outage fails every record the same way; a traceback per record buried the one line an operator needs
(2.9 MB of log for 200 photos). An error is the same as one seen before when its type and the code
locations it passed through are (its message, which names the object or the request id, is not compared).
"""

from __future__ import annotations

import traceback


def error_signature(error: BaseException) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The error's type and the (file, line) of every frame it was raised through."""
    frames = traceback.extract_tb(error.__traceback__)
    return type(error).__qualname__, tuple((frame.filename, frame.lineno or 0) for frame in frames)


def reason(error: BaseException) -> str:
    """One line: `EndpointUnavailable: the endpoint answered 503 ...`."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class DistinctErrors:
    """Remembers the errors seen in one execution environment; `first_time` is True once per signature."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, tuple[tuple[str, int], ...]]] = set()

    def first_time(self, error: BaseException) -> bool:
        signature = error_signature(error)
        if signature in self._seen:
            return False
        self._seen.add(signature)
        return True
