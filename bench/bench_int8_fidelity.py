"""Benchmark 5: how faithfully each int8 export answers like the fp32 model, on the validation photos.

The shipped model's weights (model.pt) are exported three ways and quantized on the same 256 original
training photos (the robots' own bytes, as train.py calibrates). Each int8 model is compared with fp32 on the
original validation photos of the fixed split, photo by photo:
- the exporter without static padding, plain post-training quantization (what shipped before issue 9);
- static padding, plain quantization;
- static padding and the bias correction exact for padded and strided convolutions
  (`countnet.quantization.quantize_static_int8`, what train.py ships).
Besides the top count, the check reads what the decision reads: P(expected) for each photo's true count and
its neighbours. The verdict column is train.py's own int8 check. Validation is where train.py makes this
choice, so the benchmark never looks at the test photos.

    python bench/bench_int8_fidelity.py [--model-dir .local/models/abid]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from abid_bench_data import DEFAULT_MODEL_DIR, fixed_split, load_average, shown_path
from countnet.data import Sample
from countnet.model import create_network
from countnet.model_config import WEIGHTS_FILE, ModelConfig
from countnet.onnx_export import export_onnx, write_onnx
from countnet.preprocessing import load_tensor
from countnet.quantization import (
    CALIBRATION_IMAGES,
    Int8Check,
    expected_probability_gap,
    onnx_logits,
    quantize_static_int8,
)
from results import machine_description, write_section

SECTION = "int8-fidelity"
plain_int8 = functools.partial(quantize_static_int8, bias_correction=False)


def export_dynamic_padding(network: torch.nn.Module, image_size: int, path: Path) -> None:
    """The export as it was: timm's "same" padding traced as shape arithmetic."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_onnx(network, torch.zeros(1, 3, image_size, image_size), path)


def probabilities(logits: np.ndarray) -> np.ndarray:
    return torch.from_numpy(logits).softmax(dim=1).numpy()


def calibration_photos(train: list[Sample]) -> list[Sample]:
    """256 photos spread over the pool train.py calibrates on: the original photos of the train part."""
    step = max(1, len(train) // CALIBRATION_IMAGES)
    return train[::step][:CALIBRATION_IMAGES]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    if not (args.model_dir / WEIGHTS_FILE).is_file():
        raise SystemExit(f"no model at {args.model_dir}: run `make model-abid` first or pass --model-dir")
    load_before = load_average()
    config = ModelConfig.read(args.model_dir)
    preprocessing, label_space = config.preprocessing, config.label_space
    network = create_network(config.backbone, label_space.num_classes)
    network.load_state_dict(torch.load(args.model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    network.eval()
    splits = fixed_split()
    validation = [sample for sample in splits["validation"] if label_space.class_of(sample.count) is not None]
    targets = [label_space.class_of(sample.count) for sample in validation]
    inputs = [load_tensor(sample.path, preprocessing).unsqueeze(0).numpy() for sample in validation]
    calibration = [
        load_tensor(sample.path, preprocessing).unsqueeze(0).numpy()
        for sample in calibration_photos(
            [s for s in splits["train"] if label_space.class_of(s.count) is not None]
        )
    ]
    size = preprocessing.image_size
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        static, dynamic = work / "static.onnx", work / "dynamic.onnx"
        if not export_onnx(network, size, static):
            raise SystemExit("the ONNX export failed; see the warning above")
        export_dynamic_padding(network, size, dynamic)
        variants: dict[str, tuple[Path, Callable[[Path, Path, list[np.ndarray]], None]]] = {
            "dynamic padding (the former export), plain int8": (dynamic, plain_int8),
            "static padding, plain int8": (static, plain_int8),
            "**shipped**: static padding, bias-corrected int8": (static, quantize_static_int8),
        }
        reference = onnx_logits(static, inputs)
        print(f"fp32: {len(inputs)} validation photos scored", flush=True)
        for name, (source, quantize) in variants.items():
            int8 = work / "int8.onnx"
            quantize(source, int8, calibration)
            answers = onnx_logits(int8, inputs)
            check = Int8Check.compare(
                list(reference.argmax(1)),
                list(answers.argmax(1)),
                targets,
                expected_probability_gap(reference, answers, targets),
            )
            gap = np.abs(probabilities(answers) - probabilities(reference)).sum(axis=1)
            difference = float(gap.mean() / 2)
            rows.append((name, check, difference))
            print(
                f"{name}: agreement {check.agreement:.1%}, z {check.worse_by_z:.2f}, "
                f"P(expected) gap {check.expected_probability_gap:.4f}",
                flush=True,
            )
    lines = [
        "## Benchmark 5: int8 fidelity to fp32 (validation photos)",
        "",
        f"Command: `python bench/bench_int8_fidelity.py` (model: `{shown_path(args.model_dir)}`, "
        "its model.pt exported three ways).",
        f"Hardware: {machine_description()}. Load average: {load_before} before, {load_average()} after.",
        f"Photos: the {len(inputs)} original validation photos of the split by bin, where train.py makes "
        f"the int8 choice. Calibration: {len(calibration)} original training photos. Probability difference: "
        "half the summed absolute difference of the class probabilities (0 = identical, 1 = disjoint). "
        "P(expected) gap: the mean absolute difference of the probabilities of each photo's true count and "
        "its neighbours, which the verdict reads (train.py allows 0.03).",
        "",
        "| int8 export | same count as fp32 | mean probability difference | P(expected) gap | fp32 accuracy "
        "| int8 accuracy | only fp32 right / only int8 right | McNemar z (int8 worse) | train.py's check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, check, difference in rows:
        verdict = "ships" if check.acceptable else "refused"
        lines.append(
            f"| {name} | {check.agreement:.1%} | {difference:.3f} | {check.expected_probability_gap:.3f} | "
            f"{check.fp32_accuracy:.1%} | "
            f"{check.int8_accuracy:.1%} | {check.only_fp32_right} / {check.only_int8_right} | "
            f"{check.worse_by_z:.2f} | {verdict} |"
        )
    markdown = "\n".join(lines)
    write_section(SECTION, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
