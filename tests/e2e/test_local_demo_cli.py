"""`binventory local demo`: the messages a user sees when the input is wrong, and a full default-style run."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from binventory.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["local", "demo", *args])
    return result.exit_code, result.output


def test_a_missing_model_is_named(tmp_path: Path):
    code, output = run("--model", str(tmp_path / "nowhere"), "--work-dir", str(tmp_path))
    assert code != 0
    assert "Model not found at" in output and "nowhere" in output


def test_an_empty_image_folder_is_named(demo_model: Path, tmp_path: Path):
    empty = tmp_path / "photos"
    empty.mkdir()
    code, output = run("--model", str(demo_model), "--images", str(empty), "--work-dir", str(tmp_path))
    assert code != 0
    assert "photos" in output and "not a dataset" in output


def test_a_port_in_use_is_named(demo_model: Path, tmp_path: Path, synthetic_eval_dir: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = run(
            "--model",
            str(demo_model),
            "--images",
            str(synthetic_eval_dir),
            "--aws-port",
            str(port),
            "--work-dir",
            str(tmp_path),
        )
    assert code != 0
    assert f"Port {port}" in output and "already in use" in output


def test_demo_run_prints_the_reconciliation_and_writes_the_report(
    demo_model: Path, tmp_path: Path, synthetic_eval_dir: Path
):
    # when the demo runs on labelled synthetic bins with planted errors
    code, output = run(
        "--model",
        str(demo_model),
        "--images",
        str(synthetic_eval_dir),
        "--plant-errors",
        "0.3",
        "--work-dir",
        str(tmp_path),
    )

    # then it succeeds, shows the table and totals, and writes the report with its picture
    assert code == 0, output
    assert "Reconciliation" in output and "INVALID_IMAGE" in output
    assert "Planted inventory errors flagged" in output
    assert (tmp_path / "report" / "index.html").read_text().count('class="card"') >= 4
    assert (tmp_path / "report" / "confusion_matrix.png").stat().st_size > 1000
