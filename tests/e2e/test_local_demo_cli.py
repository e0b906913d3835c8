"""`binventory local demo`: the messages a user sees when the input is wrong, and a full default-style run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
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


def test_keep_running_stops_within_seconds_of_sigterm_with_full_tables(
    demo_model: Path, tmp_path: Path, synthetic_eval_dir: Path
):
    # given: the demo left running, its tables then filled with 2,000 more records through its exports
    repo = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{repo / 'model_code'}"}
    environment.pop("PYTEST_CURRENT_TEST", None)
    command = [sys.executable, "-m", "binventory.cli", "local", "demo", "--model", str(demo_model)]
    command += ["--images", str(synthetic_eval_dir), "--keep-running", "--work-dir", str(tmp_path)]
    demo = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    try:
        exports = {}
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value
            if line.startswith("Review flagged bins"):
                break
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=exports["AWS_ENDPOINT_URL_DYNAMODB"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        table = exports["BINVENTORY_INVENTORY_TABLE_NAME"]
        for start in range(0, 2000, 25):
            dynamodb.batch_write_item(
                RequestItems={
                    table: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "bin_id": {"S": f"filler-{n}"},
                                    "record_key": {"S": f"filler/{n}"},
                                    "captured_at": {"S": "2026-11-21T00:00:00.000000Z"},
                                    "status": {"S": "MATCH"},
                                }
                            }
                        }
                        for n in range(start, start + 25)
                    ]
                }
            )

        # when: it is asked to stop
        asked = time.monotonic()
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        took = time.monotonic() - asked
    finally:
        if demo.poll() is None:
            demo.kill()

    # then: it is gone within a few seconds, every child with it
    print(f"stopped {took:.1f} s after SIGTERM")
    assert took < 10
