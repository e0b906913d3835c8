"""Every AWS call the CLI makes in these tests is checked against the documented operator policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from iam_check.operator import check_cli_calls
from iam_check.recording import CallRecorder, record_calls

import binventory

CLI_CODE = Path(binventory.__file__).resolve().parent


@pytest.fixture(autouse=True)
def cli_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    recorder = record_calls(monkeypatch, CLI_CODE)
    yield recorder
    if recorder.calls:
        check_cli_calls(recorder)
