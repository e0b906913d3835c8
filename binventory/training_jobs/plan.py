"""What a training run on a manifest dataset would take: images, hours and dollars, before anything is spent.

The hours come from the throughput figures (`binventory.training_jobs.throughput`: measured loader speed,
estimated GPU step rate) and the dollars from the dated price table (`binventory.costs`). Every figure
is a (fast, slow) range, and every run is assumed to go all its epochs (early stopping only shortens it).
Parts of a run, in order:
- setup: SageMaker pulls the training image and starts the script (billed);
- epochs: every training image once, then the validation images (forward only);
- the final report: train.py runs the packaged model over validation and test once more through the
  CPU serving runtime, reading one image at a time (with FastFile, each read waits on S3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from binventory import costs
from binventory.training_jobs import throughput
from binventory.training_jobs.throughput import Range

SETUP_HOURS = 0.05  # assumed: ~3 minutes of image download and container start, billed
# CPU serving per image on the measured machine (bench/RESULTS.md, benchmark 2: int8 ONNX, batch 1, p50).
SERVED_SECONDS_PER_IMAGE = 0.0025
INT8_IMAGES = 256 + 1000  # calibration + check images of the int8 export (countnet.quantization, train.py)


@dataclass(frozen=True)
class ManifestSummary:
    """The images of a manifest dataset, per channel and per count label, from its summary.json."""

    name: str
    distribution: dict[str, dict[str, int]]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ManifestSummary:
        try:
            distribution = {
                str(channel): {str(label): int(n) for label, n in per_label.items()}
                for channel, per_label in document["distribution"].items()
            }
            return cls(name=str(document["name"]), distribution=distribution)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(
                f"not a manifest summary.json ({error!r}); write it again with `binventory data manifest`"
            ) from error

    def images(self, channel: str, max_count: int | None = None) -> int:
        """Images of `channel`, only those holding at most `max_count` items when it is given."""
        per_label = self.distribution.get(channel, {})
        if max_count is None:
            return sum(per_label.values())
        return sum(n for label, n in per_label.items() if label.isdigit() and int(label) <= max_count)


@dataclass(frozen=True)
class PlanRequest:
    """The run being planned: where it trains, how long, and on which images."""

    instance_type: str
    epochs: int
    image_size: int
    spot: bool
    input_mode: str  # FastFile or File
    max_count: int
    over_max: str  # exclude or bucket (the recipe's label space)


@dataclass(frozen=True)
class TrainingPlan:
    request: PlanRequest
    manifest: str
    images: dict[str, int]
    left_out: int
    hours: Range
    on_demand_usd: Range | None
    spot_usd: Range | None
    limited_by: str
    notes: list[str] = field(default_factory=list)


def make_plan(summary: ManifestSummary, request: PlanRequest, *, max_runtime_seconds: int) -> TrainingPlan:
    """The plan for training on `summary`'s images as `request` says."""
    limit = request.max_count if request.over_max == "exclude" else None
    images = {channel: summary.images(channel, limit) for channel in ("train", "validation", "test")}
    left_out = sum(summary.images(channel) for channel in images) - sum(images.values())
    rates = throughput.throughput(request.instance_type, request.image_size)
    slow_vcpu, fast_vcpu = throughput.G5_VCPU_AS_MEASURED_CORE
    fast = _hours(images, request, rates.training[1], rates.evaluation[1], fast_vcpu)
    slow = _hours(images, request, rates.training[0], rates.evaluation[0], slow_vcpu)
    price = costs.TRAINING_HOURLY_USD.get(request.instance_type)
    on_demand = None if price is None else (fast * price, slow * price)
    spot = None
    if on_demand is not None:
        low, high = costs.SPOT_FRACTION_OF_ON_DEMAND
        spot = (on_demand[0] * low, on_demand[1] * high)
    notes = _notes(request, slow, max_runtime_seconds)
    return TrainingPlan(
        request=request,
        manifest=summary.name,
        images=images,
        left_out=left_out,
        hours=(fast, slow),
        on_demand_usd=on_demand,
        spot_usd=spot,
        limited_by=rates.limited_by,
        notes=notes,
    )


def _hours(
    images: Mapping[str, int], request: PlanRequest, train_rate: float, eval_rate: float, vcpu_as_core: float
) -> float:
    """Setup, every epoch (training then validation), then train.py's final report."""
    epoch_seconds = images["train"] / train_rate + images["validation"] / eval_rate
    # The report: int8 export checks, then validation and test through the served runtime, one image
    # read at a time (so every FastFile read waits on S3).
    per_image = SERVED_SECONDS_PER_IMAGE / vcpu_as_core
    if request.input_mode == "FastFile":
        per_image += throughput.S3_WAIT_SECONDS
    report_seconds = (images["validation"] + images["test"] + INT8_IMAGES) * per_image
    return SETUP_HOURS + (request.epochs * epoch_seconds + report_seconds) / 3600


def _notes(request: PlanRequest, slow_hours: float, max_runtime_seconds: int) -> list[str]:
    notes = []
    reference = throughput.MEASURED_FOR
    if request.image_size != reference["image_size"]:
        notes.append(f"GPU rate scaled from {reference['image_size']} px to {request.image_size} px")
    if slow_hours * 3600 > max_runtime_seconds:
        notes.append(
            f"the slow end exceeds training.max_runtime_seconds ({max_runtime_seconds / 3600:.1f} h), where "
            "SageMaker stops the job: raise it in cdk.json or train fewer epochs"
        )
    if request.input_mode == "File":
        notes.append("File input first downloads every image (not included: S3's per-file rate decides it)")
    return notes


def plan_line(plan: TrainingPlan, backbone: str) -> str:
    """One line for `train plan` and `train start`: images, hours, dollars and what limits the speed."""
    request, images = plan.request, plan.images
    left_out = f" ({plan.left_out:,} above {request.max_count} items left out)" if plan.left_out else ""
    money = "no price for this instance in binventory/costs.py"
    if plan.on_demand_usd is not None and plan.spot_usd is not None:
        on_demand = f"on-demand ${plan.on_demand_usd[0]:,.2f}-{plan.on_demand_usd[1]:,.2f}"
        spot = f"spot ${plan.spot_usd[0]:,.2f}-{plan.spot_usd[1]:,.2f}"
        money = f"{spot} ({on_demand})" if request.spot else f"{on_demand} (spot would be {spot[5:]})"
    notes = "".join(f"; {note}" for note in plan.notes)
    return (
        f"plan: {plan.manifest} on {request.instance_type} ({'spot' if request.spot else 'on-demand'}, "
        f"{request.input_mode}), {request.epochs} epochs of {backbone} at {request.image_size} px: "
        f"{images['train']:,} training + {images['validation']:,} validation + {images['test']:,} test "
        f"images{left_out}; about {plan.hours[0]:.1f}-{plan.hours[1]:.1f} h, {money}; limited by the "
        f"{plan.limited_by}; estimate from {throughput.MEASURED_WHERE} and prices as of "
        f"{costs.PRICES_AS_OF}{notes}"
    )
