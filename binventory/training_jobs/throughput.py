"""Images per second a training job processes on each instance type: the figures `train plan` uses.

Two limits, the lower one wins:
- the loader: the instance's CPUs read, decode (PIL draft mode at the model's size) and collate;
  measured per core on our machine by bench/bench_data_loader.py (benchmark 4 in bench/RESULTS.md)
  and scaled to the instance's vCPUs, one of which drives the training loop;
- the GPU's training step rate for the recipe's backbone: an estimate from published figures (no
  GPU was available to measure it), explained beside the constants.
Each figure is a (low, high) range. Benchmark 4 imports this module for its projection, so the
benchmark and the plan cannot disagree on the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

# Benchmark 4, 2026-11-30: CPU cost of the shipped decode (PIL draft + resize to 160 px + uint8
# tensor) on one core of an AMD EPYC (Zen 5), median ABID photo 456x346.
MEASURED_DECODE_SECONDS_PER_IMAGE = 0.00129
MEASURED_FOR = {"backbone": "tf_efficientnet_lite0", "image_size": 160, "batch_size": 32}
MEASURED_WHERE = "bench/RESULTS.md, benchmark 4 (2026-11-30)"

# ml.g5 vCPUs are SMT threads of a 2nd-generation AMD EPYC 7R32 (Zen 2, up to 3.3 GHz): 4 vCPUs are 2
# cores. One SMT pair does ~1.25x one core's work and Zen 5 does ~1.5x Zen 2's work per clock (Zen 3,
# 4 and 5 each added 13-19%), so a g5 vCPU is ~0.4 of the measured core; 0.6 is the optimistic end
# (libjpeg-turbo's SIMD narrows the gap).
G5_VCPU_AS_MEASURED_CORE = (0.4, 0.6)
VCPUS = {"ml.g5.xlarge": 4, "ml.g5.2xlarge": 8, "ml.g5.4xlarge": 16}

# A10G training step rate for tf_efficientnet_lite0 (every ml.g5 size has one A10G): timm's published
# training benchmark gives 2,134.89 images/s at 224 px on an RTX 3090 (AMP, channels_last, batch 512;
# huggingface/pytorch-image-models results/benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv). Scaled by
# memory bandwidth (A10G 600 GB/s, RTX 3090 936 GB/s: depthwise convolutions are bandwidth-bound), by
# pixels ((224 / size)^2) and by 0.6-0.8 for a batch of 32, whose per-step overhead batch 512 hides.
TIMM_RTX3090_LITE0_224 = 2134.89
A10G_OVER_RTX3090_BANDWIDTH = 600 / 936
SMALL_BATCH_EFFICIENCY = (0.6, 0.8)
# Evaluation runs forward passes only: about three times the training step rate.
FORWARD_ONLY_SPEEDUP = 3.0

# FastFile input reads each file from S3 on first open; AWS gives "tens of milliseconds" as the usual
# median of a small GET (S3 performance whitepaper, "Timeouts and retries for latency-sensitive
# applications"). train.py's final served evaluation reads its images one at a time.
S3_WAIT_SECONDS = 0.020

Range = tuple[float, float]


class UnknownInstance(ValueError):
    """No throughput figure exists for this instance type."""


@dataclass(frozen=True)
class Throughput:
    """Images/s of one instance type for one image size, as (low, high)."""

    instance_type: str
    loader: Range
    gpu_training: Range

    @property
    def training(self) -> Range:
        """Images/s while training: the slower of loader and GPU."""
        return (min(self.loader[0], self.gpu_training[0]), min(self.loader[1], self.gpu_training[1]))

    @property
    def evaluation(self) -> Range:
        """Images/s of the per-epoch validation pass (forward only)."""
        low, high = (gpu * FORWARD_ONLY_SPEEDUP for gpu in self.gpu_training)
        return (min(self.loader[0], low), min(self.loader[1], high))

    @property
    def limited_by(self) -> str:
        """`loader`, `GPU`, or `loader or GPU` when the two ranges overlap."""
        if self.loader[1] < self.gpu_training[0]:
            return "loader"
        if self.gpu_training[1] < self.loader[0]:
            return "GPU"
        return "loader or GPU"


def loader_rate(instance_type: str, decode_seconds: float = MEASURED_DECODE_SECONDS_PER_IMAGE) -> Range:
    """What the instance's loader workers (vCPUs - 1) decode per second, from the per-core cost."""
    if instance_type not in VCPUS:
        raise UnknownInstance(instance_type)
    workers = VCPUS[instance_type] - 1
    low, high = G5_VCPU_AS_MEASURED_CORE
    return (workers * low / decode_seconds, workers * high / decode_seconds)


def a10g_training_rate(image_size: int) -> Range:
    """Estimated A10G training images/s for tf_efficientnet_lite0 at `image_size`, batch 32."""
    base = TIMM_RTX3090_LITE0_224 * A10G_OVER_RTX3090_BANDWIDTH * (224 / image_size) ** 2
    low, high = SMALL_BATCH_EFFICIENCY
    return (base * low, base * high)


def throughput(instance_type: str, image_size: int) -> Throughput:
    """Loader and GPU rates of `instance_type` at `image_size` (only ml.g5 sizes have figures)."""
    return Throughput(instance_type, loader_rate(instance_type), a10g_training_rate(image_size))
