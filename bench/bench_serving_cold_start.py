"""Cold start of the endpoint under SageMaker's real PyTorch inference toolkit: `serve` to first 200s.

Each round starts `serve` (the inference DLC's entry point, from .venv-serving) on a fresh copy of the
model directory, as a new container would, and times from process start to the first 200 on /ping and
to the first 200 on /invocations (an ABID photo; /ping answers before model_fn has finished), then
stops it with SIGTERM. pip is cut off from every package source, so the figures include no install.

For scale, the run also times the step the model no longer needs: pip installing what code/requirements.txt
used to name (timm, onnxruntime) into a fresh venv that sees only the container's packages, from this
machine's package sources (PyPI is further away for an endpoint). The toolkit runs that install before it
starts TorchServe, so it added to every cold start.

Default model: bench/out/abid-model when bench_model_accuracy.py has trained it, else an untrained lite0
at the recipe's image size (a cold start does not depend on the weights' values).

    .venv/bin/python bench/bench_serving_cold_start.py [--rounds 3] [--model DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from abid_bench_data import DEFAULT_ABID_DIR, DEFAULT_MODEL_DIR, load_average
from countnet.model_config import ModelConfig
from countnet.synthetic import render_bin_image
from countnet.vendoring import LIB_DIR, MANIFEST_FILE
from results import machine_description, write_section

from binventory.toolkit.container_site import PTH_FILE, venv_site_packages
from binventory.toolkit.server import (
    INSTALL_LOG_LINE,
    SERVING_VENV,
    ToolkitUnavailable,
    check_toolkit,
    start_toolkit_server,
)
from binventory.toolkit.untrained_model import write_untrained_model_dir
from contracts.recipe import load_recipe

SECTION = "serving-cold-start"
START_SECONDS = 300
OLD_REQUIREMENTS = ("timm", "onnxruntime")  # what code/requirements.txt named before code/lib


def _model_dir(requested: Path | None, scratch: Path) -> tuple[Path, str]:
    if requested is not None:
        return requested, str(requested)
    trained = DEFAULT_MODEL_DIR
    if (trained / "code" / LIB_DIR / MANIFEST_FILE).is_file():
        return trained, ".local/models/abid (written by `make model-abid`)"
    image_size = int(load_recipe().hyperparameters["image-size"])
    model_dir = write_untrained_model_dir(scratch / "model", image_size)
    return model_dir, f"untrained tf_efficientnet_lite0 at {image_size} px, packaged by the real code"


def _request_body() -> bytes:
    """The first ABID photo, or a generated bin photo of the same size when ../shared/abid is absent."""
    photos = sorted((DEFAULT_ABID_DIR / "images").glob("*.jpg"))
    if photos:
        return photos[0].read_bytes()
    buffer = io.BytesIO()
    render_bin_image(3, random.Random(0), size=224).save(buffer, format="JPEG")
    return buffer.getvalue()


def _directory_mb(path: Path) -> float:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) / 2**20


def _round(model_dir: Path, work_dir: Path, body: bytes) -> tuple[float, float, float]:
    """(s to /ping 200, s to /invocations 200, s for serve to exit after SIGTERM)."""
    server = start_toolkit_server(model_dir, work_dir)
    try:
        ping = server.wait_until("/ping", START_SECONDS)
        invocation = server.wait_until("/invocations", START_SECONDS, jpeg=body)
        if INSTALL_LOG_LINE in server.output():
            raise RuntimeError("the toolkit installed packages: the model directory is not self-contained")
    finally:
        stopping = time.monotonic()
        server.stop()
    return ping, invocation, time.monotonic() - stopping


def _row(step: str, seconds: tuple[float, ...]) -> str:
    return f"| {step} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} |"


def _old_install_seconds(scratch: Path) -> tuple[float | None, str]:
    """pip install timm + onnxruntime, pinned as the old requirements.txt did, into a container-like venv."""
    venv = scratch / "venv-old-requirements"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv_site_packages(venv) / PTH_FILE).write_text(
        (venv_site_packages(SERVING_VENV) / PTH_FILE).read_text()
    )
    pins = [f"{name}=={metadata.version(name)}" for name in OLD_REQUIREMENTS]
    started = time.monotonic()
    pip = [str(SERVING_VENV / "bin" / "python"), "-m", "pip", "--python", str(venv / "bin" / "python")]
    result = subprocess.run(
        [*pip, "install", "--quiet", "--disable-pip-version-check", *pins], capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "pip failed"
    return seconds, " ".join(pins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, help="a packaged model directory (default: see above)")
    args = parser.parse_args()
    try:
        check_toolkit()
    except ToolkitUnavailable as problem:
        raise SystemExit(f"error: {problem}") from problem

    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir, model_label = _model_dir(args.model, scratch)
        config = ModelConfig.read(model_dir)
        manifest = model_dir / "code" / LIB_DIR / MANIFEST_FILE
        if not manifest.is_file():
            raise SystemExit(f"error: {manifest} not found: package the model again (it needs pip at start)")
        shipped = json.loads(manifest.read_text())["distributions"]
        body = _request_body()
        rounds = []
        for index in range(args.rounds):
            ping, invocation, stop = _round(model_dir, scratch / f"round-{index}", body)
            rounds.append((ping, invocation, stop))
            print(
                f"round {index + 1}: /ping {ping:.2f} s, /invocations {invocation:.2f} s, stop {stop:.2f} s"
            )
        install_seconds, install_note = _old_install_seconds(scratch)
        lib_mb, total_mb = _directory_mb(model_dir / "code" / LIB_DIR), _directory_mb(model_dir)
    load_after = load_average()

    pings, invocations, stops = zip(*rounds, strict=True)
    install_row = (
        f"| pip install of the old code/requirements.txt ({install_note}) from this machine's package "
        f"sources, into a venv with the container's packages | {install_seconds:.1f} |"
        if install_seconds is not None
        else f"| pip install of the old code/requirements.txt: not measured ({install_note}) | - |"
    )
    packages = ", ".join(f"{name} {version}" for name, version in shipped.items())
    markdown = f"""## Serving cold start under SageMaker's PyTorch inference toolkit (issue 10)

Command: `.venv/bin/python bench/bench_serving_cold_start.py --rounds {args.rounds}`
Hardware: {machine_description()}. Load average: {load_before} before, {load_after} after.
Model: {model_label}; runtime {config.runtime}; {total_mb:.0f} MB on disk, of which code/lib {lib_mb:.0f} MB
({packages}).

Each round: `serve` (sagemaker-pytorch-inference 2.0.25, TorchServe 0.12.0, one worker) started on a fresh
copy of the model directory, pip cut off from every package source; seconds from process start.

| step | median s | min s | max s |
|---|---|---|---|
{_row("first 200 on /ping", pings)}
{_row("first 200 on /invocations (one ABID photo)", invocations)}
{_row("SIGTERM to exit", stops)}

What shipping the packages in code/lib saves on every cold start (measured once, same run):

| step no longer run | s |
|---|---|
{install_row}

Reading it: /ping answers once TorchServe is up, before the worker has run model_fn, so the first
invocation is the figure a caller waits for. On SageMaker the model archive's download and the container's
start come on top, and a pip install would fetch from PyPI over the endpoint's network (or fail without it).
"""
    print(markdown)
    write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
