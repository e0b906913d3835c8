"""Benchmark 4: how many images per second the training data path delivers, and what a GPU needs.

The data path is the one training runs: `countnet.loading.BinImageDataset` decodes each photo at the
model's size (PIL draft mode) into uint8, the DataLoader collates batches, and augmentation runs per
batch on the training device (`countnet.augmentation.augment_batch`). Measured on this CPU, at the
recipe's image size and batch size, on the ABID photos in ../shared/abid:

1. per-image CPU cost of decoding (PIL full decode, PIL draft decode as shipped, torchvision's
   `decode_jpeg`), in CPU seconds of this process, which other load on the machine barely changes;
2. images/s of the DataLoader alone and of DataLoader + batch augmentation, for 0, 1 and 2 workers;
3. images/s when every file read first waits like an S3 request does under FastFile input
   (simulated), with the shipped threaded batch reads and with one read at a time.

It then projects what an ml.g5.xlarge and an ml.g5.2xlarge would feed per second and compares that
with an A10G's training step rate for the recipe's backbone (an estimate from published figures;
see the section it writes to bench/RESULTS.md).

    python bench/bench_data_loader.py [--abid ../shared/abid] [--images 512]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import torch
from abid_bench_data import DEFAULT_ABID_DIR, PROJECT_ROOT, load_average
from countnet.augmentation import augment_batch
from countnet.data import Sample, discover_dataset
from countnet.loading import READ_THREADS, BinImageDataset, make_loader
from countnet.model import default_preprocessing
from countnet.preprocessing import INTERPOLATIONS, normalize, open_image, prepare_image
from PIL import Image
from results import machine_description, write_section

from binventory.costs import TRAINING_HOURLY_USD
from binventory.data import challenge_split, manifests
from binventory.training_jobs import throughput
from binventory.training_jobs.manifest_runs import training_plan
from binventory.training_jobs.plan import ManifestSummary
from contracts.deployment_settings import load_settings_from_cdk_json
from contracts.recipe import load_recipe

SECTION = "data-loader"
# Simulated FastFile wait per file: the same figure `train plan` assumes (throughput.S3_WAIT_SECONDS).
SIMULATED_S3_WAIT_S = throughput.S3_WAIT_SECONDS


def pick_samples(abid: Path, how_many: int) -> list[Sample]:
    """Every k-th photo of the sample, so sizes and sources are mixed as in the whole folder."""
    samples = [s for s in discover_dataset(abid) if s.path.suffix.lower() in (".jpg", ".jpeg")]
    step = max(1, len(samples) // how_many)
    return samples[::step][:how_many]


def cpu_cost_per_image(paths: Sequence[Path], decode: Callable[[bytes], object]) -> float:
    """CPU seconds this process spends per image (file bytes already in memory), median of 3 passes."""
    blobs = [path.read_bytes() for path in paths]
    costs = []
    for _ in range(3):
        started = time.process_time()
        for blob in blobs:
            decode(blob)
        costs.append((time.process_time() - started) / len(blobs))
    return statistics.median(costs)


def decoders(image_size: int, interpolation: str) -> dict[str, Callable[[bytes], object]]:
    import numpy as np
    from torchvision.io import decode_jpeg

    preprocessing = default_preprocessing(load_recipe().hyperparameters["backbone"], image_size)
    resample = INTERPOLATIONS[interpolation]

    def pil_full(blob: bytes) -> object:
        image = Image.open(io.BytesIO(blob)).convert("RGB")
        return np.asarray(image.resize((image_size, image_size), resample))

    def pil_draft(blob: bytes) -> object:
        return np.asarray(prepare_image(open_image(blob), preprocessing))

    def torchvision_cpu(blob: bytes) -> object:
        image = decode_jpeg(torch.frombuffer(bytearray(blob), dtype=torch.uint8))
        return torch.nn.functional.interpolate(
            image[None].float(), size=(image_size, image_size), mode="bilinear", antialias=True
        )

    return {
        "PIL full decode + resize": pil_full,
        "PIL draft decode + resize (shipped)": pil_draft,
        "torchvision.io.decode_jpeg (CPU) + resize": torchvision_cpu,
    }


class S3WaitDataset(BinImageDataset):
    """Each file read first waits as an S3 GET would under FastFile input (the CPU stays idle)."""

    def _decode(self, index: int) -> tuple[torch.Tensor | None, str]:
        time.sleep(SIMULATED_S3_WAIT_S)
        return super()._decode(index)


class OneReadAtATime(S3WaitDataset):
    """The same, without the threaded batch reads: one file at a time per loader process."""

    def __getitems__(self, indices: list[int]) -> list:
        return [self[index] for index in indices]


def loader_rate(
    dataset: BinImageDataset, batch_size: int, workers: int, augment: bool
) -> tuple[float, float]:
    """(images/s of a second epoch, seconds from creating the loader to its first batch).

    The first epoch starts the workers and warms the page cache; the second is timed whole, from
    asking for the first batch to the last, so the batches workers prepare ahead are counted once.
    """
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    loader = make_loader(dataset, batch_size, workers, shuffle=True, seed=0)
    first_batch = None
    for _batch in loader:
        first_batch = first_batch or time.perf_counter() - started
    epoch_started, images = time.perf_counter(), 0
    for batch in loader:
        if augment:
            pixels = batch.images.float() / 255.0
            normalize(augment_batch(pixels, generator) * 255.0, dataset.preprocessing)
        images += len(batch.image_ids)
    rate = images / (time.perf_counter() - epoch_started)
    del loader
    return rate, first_batch or 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--abid", type=Path, default=DEFAULT_ABID_DIR)
    parser.add_argument("--images", type=int, default=512, help="photos per measurement")
    args = parser.parse_args()
    recipe = load_recipe().hyperparameters
    image_size, batch_size, backbone = (
        int(recipe["image-size"]),
        int(recipe["batch-size"]),
        recipe["backbone"],
    )
    preprocessing = default_preprocessing(backbone, image_size)
    samples = pick_samples(args.abid, args.images)
    targets = [min(s.count, 5) for s in samples]
    load_before = load_average()
    torch.set_num_threads(1)  # the loader's own work, not intra-op threads, is what is measured

    costs = {
        name: cpu_cost_per_image([s.path for s in samples], decode)
        for name, decode in decoders(image_size, preprocessing.interpolation).items()
    }
    for name, cost in costs.items():
        print(
            f"{name}: {cost * 1000:.2f} ms CPU per image ({1 / cost:.0f} images per CPU-second)", flush=True
        )

    rates: dict[tuple[str, int], tuple[float, float]] = {}
    for workers in (0, 1, 2):
        for augment in (False, True):
            dataset = BinImageDataset(samples, targets, preprocessing)
            label = "loader + batch augmentation" if augment else "loader alone"
            rates[(label, workers)] = loader_rate(dataset, batch_size, workers, augment)
            print(f"{label}, {workers} workers: {rates[(label, workers)][0]:.0f} images/s", flush=True)
    wait_samples = samples[: min(len(samples), 8 * batch_size)]
    wait_targets = targets[: len(wait_samples)]
    waiting = {
        f"threaded batch reads ({READ_THREADS} per process, shipped)": S3WaitDataset,
        "one read at a time per process": OneReadAtATime,
    }
    wait_rates = {}
    for name, kind in waiting.items():
        wait_rates[name] = loader_rate(kind(wait_samples, wait_targets, preprocessing), batch_size, 2, False)[
            0
        ]
        print(f"simulated S3 wait, 2 workers, {name}: {wait_rates[name]:.0f} images/s", flush=True)

    write_section(
        SECTION,
        render(
            args,
            samples,
            image_size,
            batch_size,
            backbone,
            costs,
            rates,
            wait_rates,
            load_before,
            load_average(),
        ),
    )


def render(
    args: argparse.Namespace,
    samples: Sequence[Sample],
    image_size: int,
    batch_size: int,
    backbone: str,
    costs: dict[str, float],
    rates: dict[tuple[str, int], tuple[float, float]],
    wait_rates: dict[str, float],
    load_before: str,
    load_after: str,
) -> str:
    shipped = costs["PIL draft decode + resize (shipped)"]
    per_core = 1 / shipped
    gpu_low, gpu_high = throughput.a10g_training_rate(image_size)
    vcpu_low, vcpu_high = throughput.G5_VCPU_AS_MEASURED_CORE
    stored = throughput.MEASURED_DECODE_SECONDS_PER_IMAGE
    efficiency_low, efficiency_high = throughput.SMALL_BATCH_EFFICIENCY
    lines = [
        "## Benchmark 4: training data path throughput (decode, resize, collate, augment)",
        "",
        f"Command: `python bench/bench_data_loader.py --images {args.images}` "
        f"({datetime.now(UTC):%Y-%m-%d}).",
        f"Hardware: {machine_description()}, no GPU. Load average (a shared machine): "
        f"{load_before} before, {load_after} after; other load depresses the wall-clock rates below, "
        "CPU-second costs much less so.",
        f"Data: {len(samples)} JPEGs of {os.path.relpath(args.abid, PROJECT_ROOT)} (every k-th photo; median "
        f"{statistics.median(Image.open(s.path).size[0] for s in samples):.0f} px wide), decoded at the "
        f"recipe's {image_size} px ({backbone}), batch {batch_size}; torch intra-op threads 1.",
        "",
        "| decoder (per image, bytes already in memory) | ms CPU | images per CPU-second |",
        "|---|---|---|",
        *(f"| {name} | {cost * 1000:.2f} | {1 / cost:.0f} |" for name, cost in costs.items()),
        "",
        "| DataLoader (images/s, wall clock, second epoch) | 0 workers | 1 worker | 2 workers |",
        "|---|---|---|---|",
        *(
            f"| {label} | " + " | ".join(f"{rates[(label, w)][0]:.0f}" for w in (0, 1, 2)) + " |"
            for label in ("loader alone", "loader + batch augmentation")
        ),
        "| first epoch: seconds to the first batch, loader alone | "
        + " | ".join(f"{rates[('loader alone', w)][1]:.2f}" for w in (0, 1, 2))
        + " |",
        "",
        f"With a simulated S3 wait of {SIMULATED_S3_WAIT_S * 1000:.0f} ms per file before each read "
        "(FastFile input reads every file from S3 on first open; AWS quotes tens of ms as the usual "
        "median for small GETs), 2 workers:",
        "",
        "| reading | images/s |",
        "|---|---|",
        *(f"| {name} | {rate:.0f} |" for name, rate in wait_rates.items()),
        "",
        "### What an ml.g5 instance would feed, against the A10G's step rate (estimates)",
        "",
        f"Per core of this machine the shipped decode costs {shipped * 1000:.2f} ms CPU, so about "
        f"{per_core:.0f} images/s per core. The GPU does the augmentation, so on a g5 the CPU only reads, "
        "decodes and collates. One vCPU drives the training loop; the others are loader workers "
        "(`countnet.trainer.auto_workers`: vCPUs - 1). A g5 vCPU is one SMT thread of a 2nd-generation AMD "
        f"EPYC 7R32 (Zen 2); taken as {vcpu_low}-{vcpu_high} of this machine's Zen 5 core (SMT pair ~1.25 "
        "cores, Zen 5 ~1.5x Zen 2 per clock). `train plan` uses the same arithmetic "
        f"(binventory/training_jobs/throughput.py) with the stored cost of {stored * 1000:.2f} ms per image.",
        "",
        "| instance | vCPUs | loader workers | images/s the CPUs can decode (estimate) |",
        "|---|---|---|---|",
        *(
            "| {} | {} | {} | {:.0f}-{:.0f} |".format(
                name, vcpus, vcpus - 1, *throughput.loader_rate(name, decode_seconds=shipped)
            )
            for name, vcpus in throughput.VCPUS.items()
            if name != "ml.g5.4xlarge"
        ),
        "",
        f"A10G training step rate for {backbone} at {image_size} px, batch {batch_size}: about "
        f"{gpu_low:.0f}-{gpu_high:.0f} images/s. Estimate, not measured (no GPU here): timm's published "
        f"training benchmark gives {throughput.TIMM_RTX3090_LITE0_224:,.0f} images/s for "
        "tf_efficientnet_lite0 at 224 px on an RTX 3090 (AMP, channels_last, batch 512; "
        "huggingface/pytorch-image-models `results/benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv`); "
        f"scaled by memory bandwidth (A10G 600 GB/s / RTX 3090 936 GB/s), by pixels ((224/{image_size})^2) "
        f"and by {efficiency_low}-{efficiency_high} for batch {batch_size}'s per-step overhead.",
        "",
        "| instance | training images/s (estimate) | limited by | USD per hour (on-demand) | "
        "USD per 100K training images |",
        "|---|---|---|---|---|",
        *(_instance_row(name, shipped, (gpu_low, gpu_high)) for name in ("ml.g5.xlarge", "ml.g5.2xlarge")),
        "",
        "Under FastFile every file also waits on S3: a loader process reading one file at a time manages "
        f"about 1/wait files/s, which is why a batch is read by {READ_THREADS} threads per process (the "
        "simulated rows above). Left out on purpose: `torchvision.io.decode_jpeg` on the GPU would decode at "
        "full size with another decoder and resizer than serving's PIL draft path (a train/serve skew), and "
        "on the CPU it costs more than the draft decode (table above). Pinned memory and persistent workers "
        "are on for GPU training (`countnet.loading.make_loader`); pinning needs CUDA, so it is not measured "
        "here.",
        "",
        "Decision: cdk.json's default training instance is ml.g5.2xlarge (the GPU, not the loader, sets its "
        "pace, and each image costs less than on an ml.g5.xlarge; its 32 GiB also hold train.py's final "
        "served evaluation of the 36K-image test split, kept in memory as float tensors, which 16 GiB "
        "would not). The recipe's `workers` stays -1: `countnet.trainer.auto_workers` already gives a "
        "GPU job vCPUs - 1 loader processes (7 on an ml.g5.2xlarge).",
        *challenge_plan(args.abid / "aux"),
    ]
    return "\n".join(lines)


def challenge_plan(aux: Path) -> list[str]:
    """`train plan` for the ABID-challenge split as `data manifest --split challenge` writes it."""
    try:
        train, test = challenge_split.read_challenge_split(aux)
    except challenge_split.ChallengeSplitError:
        return []
    train, validation = manifests.stratified_parts(train, (0.95, 0.05), seed=0)
    dataset = manifests.ManifestDataset("challenge", {"train": train, "validation": validation, "test": test})
    summary = ManifestSummary("challenge", manifests.class_distribution(dataset, max_count=5))
    settings = load_settings_from_cdk_json()
    lines = [
        "",
        "### `train plan` for the ABID-challenge split (`data manifest --split challenge`, recipe defaults)",
        "",
    ]
    for instance_type in ("ml.g5.xlarge", "ml.g5.2xlarge"):
        for input_mode in ("FastFile", "File"):
            line = training_plan(summary, settings, {}, input_mode=input_mode, instance_type=instance_type)
            lines.append(f"- `{line}`")
    lines += [
        "",
        "FastFile and File differ mostly in train.py's last step: its served evaluation "
        "(`countnet.served_report.served_logits`) reads the ~52K validation and test images one at a "
        f"time, so under FastFile each waits ~{throughput.S3_WAIT_SECONDS * 1000:.0f} ms on S3 (about 0.3 h "
        "in all). Reading them concurrently, as the loader does, would remove most of that; File input "
        "instead pays for downloading all ~361K images before training starts, which these lines leave out.",
    ]
    return lines


def _instance_row(instance_type: str, decode_seconds: float, gpu: tuple[float, float]) -> str:
    rates = throughput.Throughput(instance_type, throughput.loader_rate(instance_type, decode_seconds), gpu)
    low, high = rates.training
    price = TRAINING_HOURLY_USD[instance_type]
    per_100k = (price * 100_000 / (high * 3600), price * 100_000 / (low * 3600))
    return (
        f"| {instance_type} | {low:.0f}-{high:.0f} | {rates.limited_by} | {price:.3f} | "
        f"{per_100k[0]:.3f}-{per_100k[1]:.3f} |"
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
