"""Benchmark 2: CPU serving speed of the count model against the capstone-style serving path.

Every variant answers the same requests end to end, bytes in and JSON out, one image per request,
on the test photos of the fixed ABID split (bench/abid_bench_data.py), so each variant of the shipped
model also gets its own accuracy figure (counts 1..5). The baseline is the capstone serving path:
torchvision ResNet50, fp32, eager, full PIL decode + resize to 224, batch 1. Its weights do not change
its speed, and no trained ResNet50 exists here (ImageNet weights cannot be downloaded), so it is timed
only and shows no accuracy. Variants run in interleaved rounds, so other load on the shared machine
hits them alike; the speed ratio is the median of the per-round ratios.

Needs the model `make model-abid` wrote (.local/models/abid) or --model-dir.
    python bench/bench_inference_speed.py [--rounds 5] [--requests 60]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from abid_bench_data import DEFAULT_MODEL_DIR, PROJECT_ROOT, WORK_DIR, fixed_split, load_average
from countnet.model import create_network
from countnet.model_config import INT8_ONNX_FILE, ONNX_FILE, ModelConfig
from countnet.preprocessing import INTERPOLATIONS, Preprocessing, load_tensor, prepare_image
from countnet.quantization import CALIBRATION_IMAGES, quantize_static_int8
from countnet.serving import (
    SPIN_MICROSECONDS,
    CountModel,
    OnnxRunner,
    load_count_model,
    parse_request,
    predict,
    render_response,
)
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image
from results import machine_description, write_section

SECTION = "model-inference-speed"
NO_SPINNING = {"session.intra_op.allow_spinning": "0"}
Answer = Callable[[bytes], dict]


class _TorchLogits:
    """A runner for CountModel from any callable network (channels_last, TorchScript variants)."""

    def __init__(self, network: Callable[[torch.Tensor], torch.Tensor], channels_last: bool = False) -> None:
        self.network = network
        self.channels_last = channels_last

    def logits(self, batch: torch.Tensor) -> np.ndarray:
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.network(batch).numpy()


class _OnnxRunnerWithOptions:
    """ONNX Runtime with other thread settings than serving's, to show what serving's choice buys."""

    def __init__(self, path: Path, config_entries: dict[str, str]) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        for key, value in config_entries.items():
            options.add_session_config_entry(key, value)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, batch: torch.Tensor) -> np.ndarray:
        return self.session.run(None, {"image": batch.numpy()})[0]


def serving_chain(model: CountModel) -> Answer:
    """The handler chain as the container runs it: parse -> predict -> JSON."""
    return lambda body: json.loads(render_response(predict(parse_request(body, "image/jpeg"), model), "*/*"))


def capstone_serving_path() -> Answer:
    """ResNet50 fp32 eager, PIL full decode, resize to 224, batch 1 (what the capstones deployed)."""
    network = torchvision.models.resnet50(weights=None).eval()
    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.Resize((224, 224)),
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )

    def answer(body: bytes) -> dict:
        image = Image.open(io.BytesIO(body)).convert("RGB")
        with torch.inference_mode():
            probabilities = network(transform(image).unsqueeze(0)).softmax(1)[0]
        best = int(probabilities.argmax())
        return json.loads(json.dumps({"predicted_count": best, "confidence": float(probabilities[best])}))

    return answer


def int8_models(model_dir: Path, config: ModelConfig, calibration: list[Path], out: Path) -> dict[str, Path]:
    """int8 ONNX: dynamic (weights only, made here), static QDQ (what training shipped, else made here)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"dynamic": out / "model.int8-dynamic.onnx", "static": model_dir / INT8_ONNX_FILE}
    prepared = out / "model.pre.onnx"
    quant_pre_process(str(model_dir / ONNX_FILE), str(prepared))
    quantize_dynamic(prepared, paths["dynamic"], weight_type=QuantType.QInt8)
    if not paths["static"].is_file():
        paths["static"] = out / "model.int8-static.onnx"
        batches = [load_tensor(path, config.preprocessing).unsqueeze(0).numpy() for path in calibration]
        quantize_static_int8(model_dir / ONNX_FILE, paths["static"], batches)
    return paths


def build_variants(model_dir: Path, calibration: list[Path]) -> dict[str, Answer]:
    config = ModelConfig.read(model_dir)
    torch_model = load_count_model(model_dir, runtime="torch")
    network = torch_model.runner.network
    size = config.preprocessing.image_size
    last = create_network(config.backbone, config.label_space.num_classes)
    last.load_state_dict(network.state_dict())
    last = last.eval().to(memory_format=torch.channels_last)
    with torch.inference_mode():
        scripted = torch.jit.freeze(torch.jit.trace(network, torch.zeros(1, 3, size, size)))
    quantized = int8_models(model_dir, config, calibration, WORK_DIR / "quantized")
    shipped = load_count_model(model_dir).runtime
    net = config.backbone.removeprefix("tf_efficientnet_") + (" + mirror view" if config.flip_views else "")
    names = {
        "onnx": f"{net} {size} px, ONNX Runtime fp32 (model.onnx)",
        "onnx-int8": f"{net} {size} px, ONNX Runtime int8 static QDQ ({len(calibration)} calibration images)",
        "torch": f"{net} {size} px, PyTorch eager fp32",
    }
    names[shipped] = f"**shipped**: {names[shipped]}"
    variants = {
        "capstone-style: ResNet50 fp32 eager, PIL full decode, 224 px": capstone_serving_path(),
        names["torch"]: serving_chain(torch_model),
        f"{net} {size} px, PyTorch eager, channels_last": serving_chain(
            CountModel(config, _TorchLogits(last, channels_last=True), "torch")
        ),
        f"{net} {size} px, TorchScript (trace + freeze)": serving_chain(
            CountModel(config, _TorchLogits(scripted), "torch")
        ),
        f"{net} {size} px, ONNX Runtime fp32, default session options (idle threads spin)": serving_chain(
            CountModel(config, _OnnxRunnerWithOptions(model_dir / ONNX_FILE, {}), "onnx")
        ),
        names["onnx"]: serving_chain(load_count_model(model_dir, runtime="onnx")),
        f"{net} {size} px, ONNX Runtime int8 dynamic (weights only)": serving_chain(
            CountModel(config, OnnxRunner(quantized["dynamic"]), "onnx")
        ),
        f"{net} {size} px, ONNX Runtime int8 static QDQ, threads never spin": serving_chain(
            CountModel(config, _OnnxRunnerWithOptions(quantized["static"], NO_SPINNING), "onnx-int8")
        ),
        names["onnx-int8"]: serving_chain(CountModel(config, OnnxRunner(quantized["static"]), "onnx-int8")),
    }
    return variants


def accuracy(answer: Answer, bodies: list[bytes], counts: list[int]) -> float:
    return sum(
        answer(body)["predicted_count"] == count for body, count in zip(bodies, counts, strict=True)
    ) / len(counts)


def time_rounds(
    variants: dict[str, Answer], bodies: list[bytes], rounds: int, requests: int
) -> dict[str, dict]:
    """Interleaved rounds: each round runs `requests` requests through every variant in turn."""
    timings: dict[str, dict] = {name: {"latencies": [], "rates": []} for name in variants}
    for answer in variants.values():
        for body in bodies[:3]:
            answer(body)
    for round_number in range(rounds):
        for name, answer in variants.items():
            chosen = [bodies[(round_number * requests + i) % len(bodies)] for i in range(requests)]
            started = time.perf_counter()
            for body in chosen:
                request_started = time.perf_counter()
                answer(body)
                timings[name]["latencies"].append(time.perf_counter() - request_started)
            timings[name]["rates"].append(requests / (time.perf_counter() - started))
        print(f"round {round_number + 1}/{rounds} done", flush=True)
    return timings


def decode_costs(bodies: list[bytes], preprocessing: Preprocessing) -> dict[str, float]:
    """Milliseconds to turn JPEG bytes into the resized image: full decode vs draft (reduced-size) decode."""
    size, resample = preprocessing.image_size, INTERPOLATIONS[preprocessing.interpolation]
    photo = io.BytesIO()
    Image.open(io.BytesIO(bodies[0])).convert("RGB").resize((4032, 3024)).save(
        photo, format="JPEG", quality=90
    )
    widths, heights = zip(*(Image.open(io.BytesIO(body)).size for body in bodies), strict=True)
    typical = f"{statistics.median(widths):.0f}x{statistics.median(heights):.0f}"
    cases = {
        f"ABID test images (median {typical})": bodies[:60],
        "12 MP photo (4032x3024)": [photo.getvalue()] * 5,
    }
    costs = {}
    for label, sample in cases.items():
        for mode in ("full decode + resize", "draft decode + resize (shipped)"):
            started = time.perf_counter()
            for body in sample:
                image = Image.open(io.BytesIO(body))
                if mode.startswith("full"):
                    image.convert("RGB").resize((size, size), resample)
                else:
                    prepare_image(image, preprocessing)
            costs[f"{label}: {mode}, {preprocessing.interpolation}"] = (
                (time.perf_counter() - started) / len(sample) * 1000
            )
    return costs


def _shown_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def render(args, model_dir: Path, accuracies: dict, timings: dict, decode: dict, load: str) -> str:
    names = list(timings)
    baseline, shipped = names[0], next(n for n in names if n.startswith("**shipped**"))
    ratios = [s / b for s, b in zip(timings[shipped]["rates"], timings[baseline]["rates"], strict=True)]
    lines = [
        "## Benchmark 2: CPU serving speed (batch 1, bytes in, JSON out)",
        "",
        f"Command: `python bench/bench_inference_speed.py --rounds {args.rounds} --requests {args.requests}` "
        f"(model: `{_shown_path(model_dir)}`, written by `make model-abid`; benchmark 1 scores it).",
        f"Hardware: {machine_description()}, no GPU; library default threads. "
        f"Load average (shared machine): {load}.",
        f"Requests: the {len(accuracies[baseline]['counts'])} ABID test photos of benchmark 1 (accuracy on "
        "those holding 1..5 items), one per request, "
        f"{args.rounds} interleaved rounds of {args.requests} requests per variant.",
        "",
        f"**Shipped path vs capstone-style path: {statistics.median(ratios):.1f}x the throughput** "
        f"(median of per-round ratios; rounds ranged {min(ratios):.1f}x to {max(ratios):.1f}x).",
        "",
        f"Shipped ONNX Runtime sessions let worker threads spin for at most {SPIN_MICROSECONDS} µs "
        "(`session.intra_op.spin_duration_us`): long enough to bridge the gaps between operators, short "
        "enough not to compete with the request thread's decoding for the 2 cores after the run.",
        "",
        "| serving variant | its own test accuracy | images/s | p50 ms | p95 ms | throughput vs baseline |",
        "|---|---|---|---|---|---|",
    ]
    baseline_rate = statistics.median(timings[baseline]["rates"])
    for name in names:
        rate = statistics.median(timings[name]["rates"])
        latencies = [1000 * v for v in timings[name]["latencies"]]
        if name == baseline:
            shown = "- (untrained ResNet50: timed only)"
        else:
            shown = f"{accuracies[name]['accuracy']:.1%}"
        lines.append(
            f"| {name} | {shown} | {rate:.1f} | {_percentile(latencies, 0.5):.1f} | "
            f"{_percentile(latencies, 0.95):.1f} | {rate / baseline_rate:.1f}x |"
        )
    lines += ["", "Decode + resize alone, ms per image:", "", "| case | ms |", "|---|---|"]
    lines += [f"| {case} | {ms:.2f} |" for case, ms in decode.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    if not (args.model_dir / "model_config.json").is_file():
        raise SystemExit(f"no model at {args.model_dir}: run `make model-abid` first or pass --model-dir")
    load_before = load_average()
    splits = fixed_split()
    bodies = [s.path.read_bytes() for s in splits["test"]]
    counts = [s.count for s in splits["test"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        step = max(1, len(splits["train"]) // CALIBRATION_IMAGES)  # the images train.py calibrates on
        variants = build_variants(
            args.model_dir, [s.path for s in splits["train"][::step][:CALIBRATION_IMAGES]]
        )
    baseline = next(iter(variants))  # untrained ResNet50: timed, never scored
    headline = [(body, count) for body, count in zip(bodies, counts, strict=True) if 1 <= count <= 5]
    accuracies = {
        name: {
            "accuracy": accuracy(answer, *map(list, zip(*headline, strict=True)))
            if name != baseline
            else None,
            "counts": counts,
        }
        for name, answer in variants.items()
    }
    timings = time_rounds(variants, bodies, args.rounds, args.requests)
    decode = decode_costs(bodies, ModelConfig.read(args.model_dir).preprocessing)
    markdown = render(
        args, args.model_dir, accuracies, timings, decode, f"{load_before} before, {load_average()} after"
    )
    write_section(SECTION, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
