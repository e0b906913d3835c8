"""The training loop: AdamW with warmup + cosine, early stopping on validation accuracy, resumable.

It trains in channels_last; on a GPU with mixed precision (bf16 where supported, else fp16 with loss
scaling), on a CPU in fp32, as CPU serving computes; with several processes it wraps the model in DDP.
Each epoch prints one METRICS line (contracts.metric_lines) that the SageMaker metric regexes parse;
at the end it prints the best epoch's line once more, so the job's final metric values are those of
the model it ships.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler, WeightedRandomSampler

from contracts.metric_lines import format_metric_line
from contracts.recipe import load_recipe
from countnet.augmentation import augment_batch
from countnet.checkpoints import load_checkpoint, save_checkpoint
from countnet.data import DatasetLayoutError, Sample
from countnet.distributed import DistributedContext
from countnet.evaluation import Predictions, predict_loader
from countnet.fingerprint import code_fingerprint, data_fingerprint
from countnet.labels import LabelSpace
from countnet.loading import BinImageDataset, UnreadableImageLog, make_loader
from countnet.losses import bin_pair_contrast, make_loss
from countnet.metrics import evaluate_predictions
from countnet.model import build_model, default_preprocessing
from countnet.preprocessing import Preprocessing, normalize
from countnet.progress import BatchProgress
from countnet.splits import BinGroupSampler, cap_per_class, inverse_frequency_weights

logger = logging.getLogger(__name__)
# Decoded uint8 training images are kept in memory up to this size (the ABID sample at 224 px: 1.5 GB).
IN_MEMORY_LIMIT_BYTES = 6 * 2**30


_RECIPE = load_recipe().hyperparameters


def _recipe_default(name: str, kind: type) -> Any:
    """The recipe's value for train.py flag `name`, typed as the field is (booleans are "true"/"false")."""
    value = _RECIPE[name]
    return parse_bool(value) if kind is bool else kind(value)


def parse_bool(value: object) -> bool:
    text = str(value).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Hyperparameters:
    """The tunable settings; names match train.py's flags (`_` for `-`); defaults come from the recipe."""

    backbone: str = _recipe_default("backbone", str)
    pretrained: str = _recipe_default("pretrained", str)
    epochs: int = _recipe_default("epochs", int)
    batch_size: int = _recipe_default("batch-size", int)
    lr: float = _recipe_default("lr", float)
    weight_decay: float = _recipe_default("weight-decay", float)
    warmup_epochs: float = _recipe_default("warmup-epochs", float)
    label_smoothing: float = _recipe_default("label-smoothing", float)
    loss: str = _recipe_default("loss", str)
    image_size: int = _recipe_default("image-size", int)
    interpolation: str = _recipe_default("interpolation", str)
    max_count: int = _recipe_default("max-count", int)
    over_max: str = _recipe_default("over-max", str)
    balance: str = _recipe_default("balance", str)
    flip_views: bool = _recipe_default("flip-views", bool)
    evidence: str = _recipe_default("evidence", str)
    pair_loss: float = _recipe_default("pair-loss", float)
    patience: int = _recipe_default("patience", int)
    seed: int = _recipe_default("seed", int)
    workers: int = _recipe_default("workers", int)

    def label_space(self) -> LabelSpace:
        return LabelSpace(max_count=self.max_count, over_max=self.over_max)

    def preprocessing(self) -> Preprocessing:
        """The backbone's normalisation, with the recipe's resize filter."""
        normalisation = default_preprocessing(self.backbone, self.image_size)
        return replace(normalisation, interpolation=self.interpolation)


@dataclass
class LabelledSamples:
    """Samples with their class indices (samples excluded by the label space already removed)."""

    samples: list[Sample]
    targets: list[int]
    groups: list[str] | None = None  # each sample's bin group, when the split file names them


def assign_classes(
    samples: list[Sample],
    label_space: LabelSpace,
    split_name: str,
    groups: dict[str, str] | None = None,
) -> LabelledSamples:
    """Map counts to classes; bins above the maximum are dropped when the label space excludes them."""
    kept, targets = [], []
    for sample in samples:
        target = label_space.class_of(sample.count)
        if target is not None:
            kept.append(sample)
            targets.append(target)
    excluded = len(samples) - len(kept)
    if excluded:
        logger.info(
            "%s: left out %d image(s) with more than %d items (over-max: exclude)",
            split_name,
            excluded,
            label_space.max_count,
        )
    kept_groups = [groups.get(s.image_id, s.image_id) for s in kept] if groups else None
    return LabelledSamples(kept, targets, kept_groups)


@dataclass
class TrainingResult:
    """The best model (on CPU, eval mode) and how training went."""

    model: nn.Module
    best_epoch: int
    history: list[dict[str, float]]
    weights_source: str
    validation: Predictions
    unreadable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    arithmetic: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warmup to 1, then cosine decay towards 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on biases and normalisation weights (1-D tensors)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def auto_workers(device: torch.device) -> int:
    """DataLoader workers: decoding is cheap next to a CPU forward pass, so none on small CPU boxes."""
    cpus = os.cpu_count() or 1
    if device.type == "cuda":
        return max(1, min(8, cpus // max(1, torch.cuda.device_count()) - 1))
    return 0 if cpus <= 4 else 2


def training_amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on GPUs (bf16 where supported, else fp16); fp32 on CPUs.

    On a CPU, fp32 in channels_last trained lite0 at 160 px faster than bf16 autocast even on one with
    native bf16 (46 vs 39 images/s, AMD EPYC with AVX512-BF16, bench/RESULTS.md), and it computes the same
    arithmetic on every CPU, so two machines train the same recipe the same way.
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def evaluation_amp_dtype(device: torch.device) -> torch.dtype | None:
    """Validation on CPU stays fp32, exactly as CPU serving computes; GPUs keep their mixed precision."""
    return training_amp_dtype(device) if device.type == "cuda" else None


def _train_sampler(
    hp: Hyperparameters, labelled: LabelledSamples, dataset: BinImageDataset, context: DistributedContext
):
    if hp.pair_loss > 0 and labelled.groups and not context.enabled:
        return BinGroupSampler(labelled.groups, seed=hp.seed + context.rank)
    if hp.balance == "weighted":
        generator = torch.Generator().manual_seed(hp.seed + context.rank)
        weights = inverse_frequency_weights(labelled.targets)
        return WeightedRandomSampler(
            weights, num_samples=len(weights) // context.world_size, replacement=True, generator=generator
        )
    if context.enabled:
        return DistributedSampler(
            dataset, num_replicas=context.world_size, rank=context.rank, shuffle=True, seed=hp.seed
        )
    return None


class Trainer:
    """One training run: builds model, loaders and optimiser, then runs epochs until done or stopped."""

    def __init__(
        self,
        hp: Hyperparameters,
        train_set: LabelledSamples,
        validation_set: LabelledSamples,
        *,
        device: torch.device,
        context: DistributedContext | None = None,
        checkpoint_dir: Path | None = None,
    ) -> None:
        self.hp = hp
        self.device = device
        self.context = context or DistributedContext()
        self.checkpoint_dir = checkpoint_dir
        self.label_space = hp.label_space()
        self.preprocessing = hp.preprocessing()
        self.amp_dtype = training_amp_dtype(device)
        self.eval_amp_dtype = evaluation_amp_dtype(device)
        self.channels_last = True  # faster on GPUs and on CPUs alike (oneDNN's NHWC kernels)
        self.unreadable = UnreadableImageLog()
        if hp.balance == "cap":
            capped = cap_per_class(
                train_set.samples, seed=hp.seed, class_of=lambda s: self.label_space.class_of(s.count)
            )
            groups = dict(zip((s.image_id for s in train_set.samples), train_set.groups or [], strict=False))
            train_set = assign_classes(capped, self.label_space, "train (capped)", groups or None)
            logger.info("balance=cap: %d training images after capping every class", len(train_set.samples))
        if not train_set.samples or not validation_set.samples:
            raise DatasetLayoutError(
                "training needs at least one training and one validation image in the label space"
            )
        self.train_set, self.validation_set = train_set, validation_set
        # Photos' bin groups for the same-bin contrast (off without a weight, or without groups to pair by).
        self.group_of = (
            dict(zip((s.image_id for s in train_set.samples), train_set.groups, strict=True))
            if hp.pair_loss > 0 and train_set.groups
            else {}
        )
        self._build()

    def _build(self) -> None:
        hp = self.hp
        seed_everything(hp.seed + self.context.rank)
        workers = hp.workers if hp.workers >= 0 else auto_workers(self.device)
        pin = self.device.type == "cuda"
        # Without worker processes the decoded images can stay in this process: each photo is decoded
        # once instead of once per epoch (worker processes would each keep a copy).
        keep = workers == 0 and self._fits_in_memory()
        train_data = BinImageDataset(
            self.train_set.samples, self.train_set.targets, self.preprocessing, keep_in_memory=keep
        )
        self.augmentation_generator = torch.Generator().manual_seed(hp.seed + self.context.rank)
        self.train_sampler = _train_sampler(hp, self.train_set, train_data, self.context)
        self.train_loader = make_loader(
            train_data,
            hp.batch_size,
            workers,
            shuffle=True,
            sampler=self.train_sampler,
            seed=hp.seed,
            pin_memory=pin,
            # a last batch of one image breaks batch norm in training mode; drop the remainder instead
            drop_last=len(train_data) // self.context.world_size > hp.batch_size,
        )
        validation_data = BinImageDataset(
            self.validation_set.samples, self.validation_set.targets, self.preprocessing, keep_in_memory=keep
        )
        self.validation_loader = make_loader(validation_data, hp.batch_size * 2, workers, pin_memory=pin)

        network, self.weights_source = build_model(hp.backbone, self.label_space.num_classes, hp.pretrained)
        logger.info("backbone %s, starting weights: %s", hp.backbone, self.weights_source)
        network = network.to(self.device)
        if self.channels_last:
            network = network.to(memory_format=torch.channels_last)
        self.network = network
        self.model = (
            DistributedDataParallel(network, device_ids=[self.context.local_rank] if pin else None)
            if self.context.enabled
            else network
        )
        counts = [self.label_space.count_of(i) for i in range(self.label_space.num_classes)]
        self.loss_fn = make_loss(hp.loss, counts, hp.label_smoothing).to(self.device)
        self.optimizer = torch.optim.AdamW(_parameter_groups(network, hp.weight_decay), lr=hp.lr)
        steps_per_epoch = max(1, len(self.train_loader))
        warmup_steps = max(1, round(hp.warmup_epochs * steps_per_epoch))
        total_steps = hp.epochs * steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: warmup_cosine(step, warmup_steps, total_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    def _fits_in_memory(self) -> bool:
        images = len(self.train_set.samples) + len(self.validation_set.samples)
        return images * 3 * self.hp.image_size**2 <= IN_MEMORY_LIMIT_BYTES

    def _signature(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed: hyperparameters, code and data."""
        return {
            "hyperparameters": asdict(self.hp),
            "code": code_fingerprint(),
            "train_data": data_fingerprint(self.train_set.samples),
            "validation_data": data_fingerprint(self.validation_set.samples),
        }

    def arithmetic(self) -> dict[str, Any]:
        """How the numbers were computed: a run on another thread count or precision differs slightly."""
        return {
            "device": self.device.type,
            "threads": torch.get_num_threads(),
            "amp_dtype": str(self.amp_dtype).removeprefix("torch.") if self.amp_dtype else "float32",
            "channels_last": self.channels_last,
            "torch": torch.__version__,
        }

    def _train_one_epoch(self, epoch: int) -> float:
        self.model.train()
        if isinstance(self.train_sampler, DistributedSampler):
            self.train_sampler.set_epoch(epoch)
        progress = BatchProgress(len(self.train_loader), f"epoch {epoch}/{self.hp.epochs}")
        loss_sum, seen = 0.0, 0
        for batch in self.train_loader:
            self.unreadable.record(batch.unreadable)
            if not batch.image_ids:
                continue
            pixels = batch.images.to(self.device, non_blocking=True).float() / 255.0
            images = normalize(augment_batch(pixels, self.augmentation_generator) * 255.0, self.preprocessing)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            targets = batch.targets.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                logits = self.model(images).float()
                loss = self.loss_fn(logits, targets)
                if self.group_of:
                    contrast = bin_pair_contrast(logits, targets, [self.group_of[i] for i in batch.image_ids])
                    if contrast is not None:
                        loss = loss + self.hp.pair_loss * contrast
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            loss_sum += loss.item() * len(targets)
            seen += len(targets)
            progress.update(len(targets), loss.item())
        progress.close()
        if self.context.enabled:  # the mean over every rank's images, not just this one's
            totals = torch.tensor([loss_sum, float(seen)], device=self.device)
            torch.distributed.all_reduce(totals)
            loss_sum, seen = totals.tolist()
        return loss_sum / max(1, seen)

    def _validate(self) -> tuple[Predictions, dict[str, Any]]:
        predictions = predict_loader(
            self.network,
            self.validation_loader,
            self.device,
            self.preprocessing,
            flip_views=self.hp.flip_views,
            loss_fn=self.loss_fn,
            amp_dtype=self.eval_amp_dtype,
            channels_last=self.channels_last,
            unreadable=self.unreadable,
        )
        return predictions, evaluate_predictions(predictions.y_true, predictions.y_pred, self.label_space)

    @staticmethod
    def _metric_values(train_loss: float, val_loss: float, evaluation: dict[str, Any]) -> dict[str, float]:
        return {
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_accuracy": evaluation["accuracy"],
            "val_rmse": evaluation["rmse"],
            "val_mae": evaluation["mae"],
            "val_macro_f1": evaluation["macro_f1"],
        }

    def _save(self, epoch: int, best: dict[str, Any], stale: int, history: list[dict[str, float]]) -> None:
        if self.checkpoint_dir is None or not self.context.is_main:
            return
        save_checkpoint(
            self.checkpoint_dir,
            {
                "signature": self._signature(),
                "epoch": epoch,
                "model": self.network.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "best": best,
                "stale": stale,
                "history": history,
            },
        )

    def _resume(self) -> tuple[int, dict[str, Any], int, list[dict[str, float]]]:
        fresh = {"epoch": 0, "accuracy": -1.0, "loss": math.inf, "state": None}
        if self.checkpoint_dir is None:
            return 1, fresh, 0, []
        state = load_checkpoint(self.checkpoint_dir, self._signature())
        if state is None:
            return 1, fresh, 0, []
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        return state["epoch"] + 1, state["best"], state["stale"], state["history"]

    def run(self) -> TrainingResult:
        """Train, stop early when validation accuracy stalls for `patience` epochs, return the best model."""
        started = time.perf_counter()
        first_epoch, best, stale, history = self._resume()
        say = print if self.context.is_main else (lambda *_args, **_kwargs: None)
        say(
            f"training on {len(self.train_set.samples)} images, validating on "
            f"{len(self.validation_set.samples)}; "
            f"{self.label_space.num_classes} classes {self.label_space.labels}; device {self.device}",
            flush=True,
        )
        for epoch in range(first_epoch, self.hp.epochs + 1):
            if stale >= self.hp.patience:
                break
            epoch_started = time.perf_counter()
            train_loss = self._train_one_epoch(epoch)
            predictions, evaluation = self._validate()
            values = self._metric_values(train_loss, predictions.loss, evaluation)
            history.append({"epoch": epoch, **values})
            say(format_metric_line(epoch, values), flush=True)
            if (evaluation["accuracy"], -predictions.loss) > (best["accuracy"], -best["loss"]):
                best = {
                    "epoch": epoch,
                    "accuracy": evaluation["accuracy"],
                    "loss": predictions.loss,
                    "state": copy.deepcopy({k: v.cpu() for k, v in self.network.state_dict().items()}),
                }
                stale = 0
            else:
                stale += 1
            say(
                f"epoch {epoch}/{self.hp.epochs} took {time.perf_counter() - epoch_started:.1f}s; best "
                f"val_accuracy {best['accuracy']:.4f} at epoch {best['epoch']}"
                + (
                    f"; stopping early: no improvement for {stale} epochs"
                    if stale >= self.hp.patience
                    else ""
                ),
                flush=True,
            )
            self._save(epoch, best, stale, history)
        if best["state"] is not None:
            self.network.load_state_dict(best["state"])
        predictions, evaluation = self._validate()
        best_epoch = best["epoch"] or self.hp.epochs
        best_values = next((h for h in history if h["epoch"] == best_epoch), None)
        train_loss = best_values["train_loss"] if best_values else float("nan")
        say(
            format_metric_line(best_epoch, self._metric_values(train_loss, predictions.loss, evaluation)),
            flush=True,
        )
        summary = self.unreadable.summary()
        if summary:
            logger.warning(summary)
        model = copy.deepcopy(self.network).to("cpu", memory_format=torch.contiguous_format).eval()
        return TrainingResult(
            model=model,
            best_epoch=best_epoch,
            history=history,
            weights_source=self.weights_source,
            validation=predictions,
            unreadable=dict(self.unreadable.seen),
            seconds=time.perf_counter() - started,
            arithmetic=self.arithmetic(),
        )
