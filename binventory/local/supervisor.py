"""Keeps the local model server up, as SageMaker keeps an endpoint's container up: a dead one is restarted.

A killed server used to stay dead (a `<defunct>` child), and every record failed its way to the dead-letter
queue. The supervisor notices the exit within a poll interval, says so once, and starts the server again on
the same port (the function's endpoint URL stays right) with a growing pause between failed attempts. While
the server is down `healthy` is clear, and the pipeline's poller waits instead of spending the messages'
receives on an endpoint known to be restarting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

LOGGER = logging.getLogger(__name__)

POLL_SECONDS = 0.2
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


class Restartable(Protocol):
    """What the supervisor needs of a server process."""

    def exit_code(self) -> int | None: ...

    def restart(self) -> None: ...


class Supervisor:
    """A daemon thread that restarts `server` whenever it has exited; `stop()` ends the watch first."""

    def __init__(self, server: Restartable, notify: Callable[[str], None] | None = None) -> None:
        self.server = server
        self.notify = notify or LOGGER.warning
        self.healthy = threading.Event()
        self.healthy.set()
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="model-server-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (before the server is stopped on purpose, so that is not taken for a crash)."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def wait_until_healthy(self, timeout: float) -> bool:
        return self.healthy.wait(timeout)

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            code = self.server.exit_code()
            if code is not None:
                self._restart(code)

    def _restart(self, code: int) -> None:
        self.healthy.clear()
        self.notify(
            f"The model server exited (code {code}); restarting it, as SageMaker restarts a container"
        )
        backoff = FIRST_BACKOFF_SECONDS
        attempts = 0
        while not self._stopping.is_set():
            attempts += 1
            try:
                self.server.restart()
            except Exception as error:  # a failed start is retried after a longer pause
                LOGGER.debug("model server restart %d failed: %s", attempts, error)
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            self.restarts += 1
            LOGGER.info("the model server is back after %d attempt(s)", attempts)
            self.healthy.set()
            return
