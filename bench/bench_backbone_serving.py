"""What a larger resolution or backbone would cost to serve: model time per photo against the shipped one.

Issue 21 lists 224 px and EfficientNet-Lite1/-Lite2 as candidates, and asks that serving stay at least 10x
the capstone-style ResNet50 path. The shipped path measures 13.0x it (benchmark 2), so there is little room.
Each candidate here is timm's architecture with random weights (speed does not depend on them), exported as
the shipped model is (`countnet.onnx_export`: static padding, the same opset) and run in the shipped ONNX
Runtime session (`countnet.serving.OnnxRunner`), batch 1, on a fixed input, in interleaved rounds so that
other load on the machine hits every candidate alike. Figures: multiply-adds per photo (torch's flop counter,
the same on every machine), fp32 milliseconds per photo, and the ratio of each candidate's time to the
shipped lite0 at 160 px (median of the per-round ratios). int8 is assumed to speed every candidate alike.

From the ratio k, the whole serving path's speed against ResNet50's is estimated from benchmark 2's shipped
figures: 13.0x x 3.4 ms / (1.1 ms decode + k x 2.3 ms model).

    python bench/bench_backbone_serving.py [--rounds 5] [--requests 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import timm
import torch
from abid_bench_data import load_average
from countnet.onnx_export import export_onnx
from countnet.serving import OnnxRunner
from results import machine_description, write_section
from torch.utils.flop_counter import FlopCounterMode

SECTION = "backbone-serving"
CANDIDATES = (  # (backbone, image size): the shipped one first
    ("tf_efficientnet_lite0", 160),
    ("tf_efficientnet_lite0", 224),
    ("tf_efficientnet_lite1", 240),
    ("tf_efficientnet_lite2", 260),
)
CLASSES = 17  # 0..15 and 16+, as shipped
# Benchmark 2's shipped figures (bench/RESULTS.md): the path against ResNet50, its p50, and its decode share.
SHIPPED_PATH_RATIO, SHIPPED_PATH_MS, DECODE_MS = 13.0, 3.4, 1.1


def multiply_adds(network: torch.nn.Module, size: int) -> float:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        network(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="photos per candidate per round")
    args = parser.parse_args()
    load_before = load_average()
    torch.manual_seed(0)
    runners, macs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for backbone, size in CANDIDATES:
            network = timm.create_model(backbone, pretrained=False, num_classes=CLASSES).eval()
            macs.append(multiply_adds(network, size))
            path = Path(folder) / f"{backbone}-{size}.onnx"
            if not export_onnx(network, size, path):
                raise SystemExit(f"could not export {backbone} at {size} px")
            runners.append(OnnxRunner(path))
            print(f"exported {backbone} at {size} px", flush=True)
        inputs = [torch.randn(1, 3, size, size) for _, size in CANDIDATES]
        for runner, batch in zip(runners, inputs, strict=True):
            runner.logits(batch)  # warm up
        times: list[list[float]] = [[] for _ in CANDIDATES]
        for round_index in range(args.rounds):
            for index, (runner, batch) in enumerate(zip(runners, inputs, strict=True)):
                start = time.perf_counter()
                for _ in range(args.requests):
                    runner.logits(batch)
                times[index].append(1000 * (time.perf_counter() - start) / args.requests)
            print(f"round {round_index + 1}/{args.rounds}", flush=True)
    lines = [
        "## What a larger resolution or backbone costs to serve (issue 21's candidates)",
        "",
        "Command: `python bench/bench_backbone_serving.py "
        f"--rounds {args.rounds} --requests {args.requests}`.",
        f"Hardware: {machine_description()}, no GPU. Load average: {load_before} before, {load_average()} "
        "after. ONNX Runtime fp32, the shipped session options, batch 1, random weights.",
        "",
        "| backbone, input | multiply-adds per photo | model ms per photo (median round) "
        "| model time vs shipped | serving path vs ResNet50, estimated |",
        "|---|---:|---:|---:|---:|",
    ]
    for index, (backbone, size) in enumerate(CANDIDATES):
        ratio = statistics.median(np.asarray(times[index]) / np.asarray(times[0]))
        path_ratio = (
            SHIPPED_PATH_RATIO * SHIPPED_PATH_MS / (DECODE_MS + ratio * (SHIPPED_PATH_MS - DECODE_MS))
        )
        lines.append(
            f"| {backbone}, {size} px{' (shipped)' if index == 0 else ''} | {macs[index] / 1e6:.0f} M | "
            f"{statistics.median(times[index]):.2f} | {ratio:.2f}x | {path_ratio:.1f}x |"
        )
    lines += [
        "",
        f"The estimate takes benchmark 2's shipped path ({SHIPPED_PATH_RATIO}x ResNet50's, p50 "
        f"{SHIPPED_PATH_MS} ms of which {DECODE_MS} ms decode and resize) and scales its model time by the "
        "ratio measured here; the requirement is 10x.",
    ]
    markdown = "\n".join(lines)
    write_section(SECTION, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
