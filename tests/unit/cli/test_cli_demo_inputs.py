"""`binventory local demo` checks what the user typed before it trains a model or starts a server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from binventory.cli import cli


@pytest.fixture(autouse=True)
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training or moto starting means the input was checked too late: fail at once instead of in minutes."""

    def too_late(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the inputs were checked")

    monkeypatch.setattr("binventory.local.demo.train_demo_model", too_late)
    monkeypatch.setattr("binventory.local.demo.write_synthetic_dataset", too_late)
    monkeypatch.setattr("binventory.local.emulator.ThreadedMotoServer.start", too_late)


def demo(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["local", "demo", "--work-dir", str(tmp_path), *args])
    return result.exit_code, result.output


def test_a_missing_image_folder_fails_before_training(tmp_path: Path) -> None:
    code, output = demo(tmp_path, "--images", "/nonexistent")

    assert code != 0
    assert "image folder /nonexistent does not exist" in output


def test_a_taken_model_port_fails_before_training_or_moto(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = demo(tmp_path, "--model-port", str(port))

    assert code != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in output


def test_the_same_port_twice_is_refused(tmp_path: Path) -> None:
    code, output = demo(tmp_path, "--aws-port", "18080", "--model-port", "18080")

    assert code != 0
    assert "the ports must differ: --aws-port 18080, --model-port 18080" in output
