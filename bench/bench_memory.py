"""Benchmark 3: peak memory (RSS) of CPU training and of a loaded serving model.

Each case runs in a fresh Python process that reports its own peak resident set size, so cases do
not hide each other's peaks. Training cases train one epoch on 96 images of the ABID benchmark
split with train.py (peak memory is reached in the first steps: weights, optimiser state and one
batch of activations). Serving cases load a model and answer 20 requests. The capstone-style
ResNet50 cases are measured in the same run for comparison.

    python bench/bench_memory.py [--model-dir bench/out/abid-model]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
from pathlib import Path

from abid_bench_data import (
    DEFAULT_MODEL_DIR,
    PROJECT_ROOT,
    WORK_DIR,
    fixed_split,
    load_average,
    write_split_dirs,
)
from results import machine_description, write_section

SECTION = "model-memory"
TRAINING_IMAGES = 96


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_train(image_size: str, data_dir: str) -> None:
    import contextlib
    import tempfile

    sys.path.insert(0, str(PROJECT_ROOT / "model_code"))
    import train

    with tempfile.TemporaryDirectory() as model_dir, contextlib.redirect_stdout(io.StringIO()):
        train.main(
            [
                "--train",
                data_dir,
                "--model-dir",
                model_dir,
                "--image-size",
                image_size,
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--workers",
                "0",
                "--test-fraction",
                "0",
                "--val-fraction",
                "0.25",
                "--export-onnx",
                "false",
            ]
        )


def measure_capstone_train(data_dir: str) -> None:
    """ResNet50 at 224 px, frozen backbone, new head trained: three steps of batch 32."""
    import torch
    import torchvision

    network = torchvision.models.resnet50(weights=None)
    for parameter in network.parameters():
        parameter.requires_grad = False
    network.fc = torch.nn.Linear(network.fc.in_features, 6)
    optimizer = torch.optim.AdamW(network.fc.parameters(), lr=1e-3)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(
            network(torch.randn(32, 3, 224, 224)), torch.randint(0, 6, (32,))
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def measure_serving(model_dir: str, runtime: str, image_path: str) -> None:
    sys.path.insert(0, str(PROJECT_ROOT / "model_code"))
    from countnet.serving import load_count_model, parse_request, predict

    model = load_count_model(model_dir, runtime=runtime)
    body = Path(image_path).read_bytes()
    for _ in range(20):
        predict(parse_request(body, "image/jpeg"), model)


def measure_capstone_serving(image_path: str) -> None:
    import torch
    import torchvision
    from PIL import Image

    network = torchvision.models.resnet50(weights=None).eval()
    transform = torchvision.transforms.Compose(
        [torchvision.transforms.Resize((224, 224)), torchvision.transforms.ToTensor()]
    )
    for _ in range(20):
        with torch.inference_mode():
            network(transform(Image.open(image_path).convert("RGB")).unsqueeze(0))


def measure_imports() -> None:
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401


CASES = {
    "train": measure_train,
    "capstone-train": measure_capstone_train,
    "serve": measure_serving,
    "capstone-serve": measure_capstone_serving,
    "imports": measure_imports,
}


def run_case(name: str, *arguments: str) -> float:
    """Peak RSS in MB of a fresh process running one case."""
    output = subprocess.run(
        [sys.executable, __file__, "--case", name, *arguments], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.case:
        CASES[args.case](*rest)
        print(json.dumps({"peak_mb": _peak_mb()}))
        return
    if not (args.model_dir / "model_config.json").is_file():
        raise SystemExit(f"no model at {args.model_dir}: run `make model-abid` first or pass --model-dir")
    load_before = load_average()
    splits = fixed_split()
    subset = {"train": splits["train"][:: len(splits["train"]) // TRAINING_IMAGES][:TRAINING_IMAGES]}
    data_dir = str(write_split_dirs(subset, WORK_DIR / "memory-split")["train"])
    image = str(splits["test"][0].path)
    model_dir = str(args.model_dir)
    config = json.loads((args.model_dir / "model_config.json").read_text())
    size, shipped = config["image_size"], config["runtime"]
    rows = [
        ("Python with torch, torchvision and onnxruntime imported, nothing else", run_case("imports")),
        (
            f"training: train.py, lite0, {size} px, batch 32 (shipped recipe)",
            run_case("train", str(size), data_dir),
        ),
        ("training: train.py, lite0, 224 px, batch 32", run_case("train", "224", data_dir)),
        (
            "training: capstone-style ResNet50, 224 px, batch 32, frozen backbone + new head",
            run_case("capstone-train", data_dir),
        ),
        (
            f"serving: lite0 {size} px, as shipped ({shipped}), after 20 requests",
            run_case("serve", model_dir, "auto", image),
        ),
        (
            f"serving: lite0 {size} px, ONNX Runtime fp32, after 20 requests",
            run_case("serve", model_dir, "onnx", image),
        ),
        (
            f"serving: lite0 {size} px, PyTorch fallback, after 20 requests",
            run_case("serve", model_dir, "torch", image),
        ),
        (
            "serving: capstone-style ResNet50, PyTorch eager, after 20 requests",
            run_case("capstone-serve", image),
        ),
    ]
    sizes = {
        name: (args.model_dir / name).stat().st_size / 2**20
        for name in ("model.pt", "model.onnx", "model.int8.onnx")
        if (args.model_dir / name).is_file()
    }
    lines = [
        "## Benchmark 3: peak memory (RSS) of CPU training and serving",
        "",
        "Command: `python bench/bench_memory.py`; each row is a fresh process's peak resident set size.",
        f"Hardware: {machine_description()}, no GPU. "
        f"Load average: {load_before} before, {load_average()} after.",
        f"Training rows: one epoch on {TRAINING_IMAGES} ABID images (peak is reached in the first steps).",
        "",
        "| case | peak RSS MB |",
        "|---|---|",
        *[f"| {name} | {mb:.0f} |" for name, mb in rows],
        "",
        "Model files: " + ", ".join(f"{name} {mb:.1f} MB" for name, mb in sizes.items()) + ".",
    ]
    markdown = "\n".join(lines)
    write_section(SECTION, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
