"""The supervisor restarts a dead server with growing pauses, says so once, and holds the poller meanwhile."""

from __future__ import annotations

import time

from binventory.local import supervisor as supervision
from binventory.local.supervisor import Supervisor


class FlakyServer:
    """Dies once; then its first `failing_starts` restarts fail."""

    def __init__(self, failing_starts: int) -> None:
        self.code: int | None = -9
        self.failing_starts = failing_starts
        self.attempts: list[float] = []

    def exit_code(self) -> int | None:
        return self.code

    def restart(self) -> None:
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.failing_starts:
            raise OSError("port still busy")
        self.code = None


def test_a_dead_server_is_restarted_with_backoff_and_announced_once(monkeypatch) -> None:
    monkeypatch.setattr(supervision, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(supervision, "FIRST_BACKOFF_SECONDS", 0.05)
    server, said = FlakyServer(failing_starts=2), []
    watch = Supervisor(server, notify=said.append).start()
    try:
        while not server.attempts:
            time.sleep(0.005)
        assert not watch.healthy.is_set()  # the poller holds while the server restarts
        assert watch.wait_until_healthy(5)
    finally:
        watch.stop()

    assert server.code is None and watch.restarts == 1
    assert said == ["The model server exited (code -9); restarting it, as SageMaker restarts a container"]
    pauses = [later - earlier for earlier, later in zip(server.attempts, server.attempts[1:], strict=False)]
    assert len(pauses) == 2 and pauses[1] > pauses[0] * 1.5  # each failed start waits longer


def test_a_stopped_supervisor_restarts_nothing(monkeypatch) -> None:
    monkeypatch.setattr(supervision, "POLL_SECONDS", 0.01)
    server = FlakyServer(failing_starts=0)
    server.code = None
    watch = Supervisor(server).start()
    watch.stop()
    server.code = 0  # stopped on purpose after the watch ended

    time.sleep(0.05)
    assert server.attempts == []
