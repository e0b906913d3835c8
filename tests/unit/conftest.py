"""The unit tier: pure logic, in seconds. A test that starts a process belongs in tests/integration."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting a process fails the test, saying where it belongs."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a unit test starts no process: move this test to tests/integration")

    monkeypatch.setattr(subprocess, "Popen", refuse)
