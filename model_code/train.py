"""SageMaker training entry point for the bin-count model; also a plain CLI on a laptop.

Every SageMaker variable is only the default of a flag, and every hyperparameter's default is the
shipped recipe (contracts/recipe.json), so both of these train the same model:
    python model_code/train.py --train ../shared/abid ../shared/abid-224 \
        --split-file contracts/abid_sample_split.csv --model-dir /tmp/model
    (in the training container) python train.py
With a split file, listed photos go to its train/validation/test parts and unlisted ones train; with
a validation channel that channel is used as is; otherwise the data is split (stratified, seeded).
Validation chooses the epoch, the calibration, the reconciliation threshold and int8 vs fp32; the
test split is only reported. The model directory is written ready to serve (see countnet.packaging).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, NoReturn

import torch
from countnet import distributed
from countnet.checkpoints import default_checkpoint_dir
from countnet.data import DatasetLayoutError, Sample, count_histogram, discover_dataset
from countnet.labels import OVER_MAX_POLICIES
from countnet.losses import LOSSES
from countnet.model import BACKBONES, WeightsUnavailableError
from countnet.model_config import CONFUSION_MATRIX_FILE, EVALUATION_FILE, ModelConfig, make_model_version
from countnet.packaging import Int8Inputs, finish_model_dir, write_model_dir
from countnet.preprocessing import INTERPOLATIONS
from countnet.quantization import CALIBRATION_IMAGES
from countnet.served_report import PHOTO_RANGES, fit_rule, served_logits, split_report
from countnet.serving import load_count_model
from countnet.splits import BALANCE_MODES, stratified_split
from countnet.trainer import (
    Hyperparameters,
    LabelledSamples,
    Trainer,
    TrainingResult,
    assign_classes,
    parse_bool,
)

from contracts.fixed_split import SPLIT_NAMES, SplitFileError, read_split, read_split_entries
from contracts.label_corrections import CorrectionsFileError, read_corrections
from contracts.manifest_layout import ADDED_TRAIN_CHANNEL, channel_environment_variable
from contracts.model_answer import STATISTICS

logger = logging.getLogger("train")
RESIZE_FILTERS = sorted(name for name in INTERPOLATIONS if name != "nearest")
DEFAULTS = Hyperparameters()
INT8_CHECK_IMAGES = 1000  # held-out images the int8 model is checked on
PER_IMAGE_FIELDS = ("image_ids", "counts", "probabilities")  # kept per split, not in the headline
HELD_OUT = "held_out"


def _hyperparameter_default(name: str, fallback: Any) -> Any:
    """SM_HPS (the job's hyperparameters as JSON) first, then the built-in default."""
    hyperparameters = json.loads(os.environ.get("SM_HPS", "{}") or "{}")
    return hyperparameters.get(name, fallback)


def _true_or_false(value: str) -> bool:
    try:
        return parse_bool(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


class TrainingInputError(ValueError):
    """A flag, hyperparameter or data channel that train.py cannot use."""


class _Parser(argparse.ArgumentParser):
    """Reports a bad flag as `ValueError: ...` on stderr: SageMaker's training toolkit copies only lines
    naming a Python exception class into the job's failure reason (DescribeTrainingJob, the console)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        report_failure(TrainingInputError(message))
        sys.exit(2)


def report_failure(error: BaseException) -> None:
    """One stderr line `<builtin exception class>: <message>` that the training toolkit surfaces."""
    builtin = next(kind.__name__ for kind in type(error).__mro__ if kind.__module__ == "builtins")
    print(f"{builtin}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


# A job on a manifest dataset plus an added one (`train start --add-manifest`) mounts its images here too.
ADDED_TRAIN_VARIABLE = channel_environment_variable(ADDED_TRAIN_CHANNEL)


def _paths(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    data = parser.add_argument_group("data and output (SageMaker environment variables are the defaults)")
    data.add_argument(
        "--train",
        nargs="+",
        default=[path for path in (env("SM_CHANNEL_TRAIN"), env(ADDED_TRAIN_VARIABLE)) if path] or None,
        help="one or more dataset folders or labels files, used together (SM_CHANNEL_TRAIN)",
    )
    data.add_argument(
        "--split-file",
        default=None,
        help="CSV image_id,split (train/validation/test) assigning listed photos; unlisted ones train",
    )
    data.add_argument(
        "--label-corrections",
        default=None,
        help="CSV image_id,expected_quantity,labelled,source of known-wrong labels to fix while reading",
    )
    data.add_argument(
        "--validation",
        default=env("SM_CHANNEL_VALIDATION"),
        help="validation dataset; without it --train is split (SM_CHANNEL_VALIDATION)",
    )
    data.add_argument(
        "--test", default=env("SM_CHANNEL_TEST"), help="test dataset for the final figures (SM_CHANNEL_TEST)"
    )
    data.add_argument(
        "--model-dir", default=env("SM_MODEL_DIR", "model"), help="where the model is written (SM_MODEL_DIR)"
    )
    data.add_argument(
        "--output-data-dir",
        default=env("SM_OUTPUT_DATA_DIR"),
        help="extra outputs: evaluation and history (SM_OUTPUT_DATA_DIR)",
    )
    data.add_argument(
        "--checkpoint-dir",
        default=default_checkpoint_dir(),
        help="resumable checkpoints; default /opt/ml/checkpoints when it exists, else none",
    )
    data.add_argument(
        "--num-gpus",
        type=int,
        default=int(env("SM_NUM_GPUS", torch.cuda.device_count())),
        help="GPUs to train on; more than 1 starts one DDP process per GPU (SM_NUM_GPUS)",
    )
    data.add_argument(
        "--val-fraction", type=float, default=0.1, help="validation share when splitting --train"
    )
    data.add_argument("--test-fraction", type=float, default=0.1, help="test share when splitting --train")
    data.add_argument(
        "--report-test",
        type=_true_or_false,
        default=False,
        help="also score the test split and print its figures (true|false); off, no test photo is read",
    )
    data.add_argument(
        "--export-onnx",
        type=_true_or_false,
        default=True,
        help="also write model.onnx for faster CPU serving (true|false)",
    )
    data.add_argument(
        "--int8",
        type=_true_or_false,
        default=True,
        help="also write model.int8.onnx when on validation it answers as fp32 does (true|false)",
    )

    def hyperparameter(name: str, kind: type, help_text: str, **extra: Any) -> None:
        attribute = name.replace("-", "_")
        parse = _true_or_false if kind is bool else kind
        default = parse(_hyperparameter_default(name, getattr(DEFAULTS, attribute)))
        parser.add_argument(
            f"--{name}", type=parse, default=default, help=f"{help_text} (default {default})", **extra
        )

    hyperparameter("backbone", str, "network", choices=BACKBONES)
    hyperparameter("pretrained", str, "starting weights: auto (ImageNet), none, or a state-dict path")
    hyperparameter("epochs", int, "maximum epochs")
    hyperparameter("batch-size", int, "images per batch (per GPU)")
    hyperparameter("lr", float, "peak AdamW learning rate")
    hyperparameter("weight-decay", float, "AdamW weight decay")
    hyperparameter("warmup-epochs", float, "linear warmup before the cosine decay")
    hyperparameter("label-smoothing", float, "cross-entropy label smoothing")
    hyperparameter("loss", str, "ce, or ordinal (adds the expected squared count error)", choices=LOSSES)
    hyperparameter("image-size", int, "square input size in pixels")
    hyperparameter(
        "interpolation",
        str,
        "resize filter from the photo to image-size, in training and serving alike",
        choices=RESIZE_FILTERS,
    )
    hyperparameter("max-count", int, "largest count with its own class")
    hyperparameter(
        "over-max",
        str,
        "bins above max-count: exclude, or bucket into one 'N+1+' class",
        choices=OVER_MAX_POLICIES,
    )
    hyperparameter(
        "balance",
        str,
        "class balancing: none, cap (median class size), weighted sampling",
        choices=BALANCE_MODES,
    )
    hyperparameter("flip-views", bool, "average each photo with its mirror image when evaluating and serving")
    hyperparameter(
        "evidence",
        str,
        "how a photo's evidence against an expected count is measured (contracts.decision)",
        choices=STATISTICS,
    )
    hyperparameter(
        "pair-loss",
        float,
        "weight of the same-bin contrast: photos of one bin holding more items must favour the larger count",
    )
    hyperparameter("patience", int, "stop after this many epochs without a better validation accuracy")
    hyperparameter("seed", int, "seed for splits, initialisation and augmentation")
    hyperparameter("workers", int, "DataLoader worker processes; -1 picks for the machine")
    return parser


# Hyperparameters SageMaker adds itself: a tuning job passes `_tuning_objective_metric` to every trial.
RESERVED_PREFIXES = ("_", "sagemaker_")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    misspelled = [
        arg for arg in unknown if arg.startswith("--") and not arg[2:].startswith(RESERVED_PREFIXES)
    ]
    if misspelled:
        parser.error(
            f"unknown hyperparameter {', '.join(misspelled)}: a misspelled name would train with the "
            "recipe's value instead (see `python model_code/train.py --help`)"
        )
    args.train = _paths(args.train)
    if not args.train:
        parser.error("no training data: pass --train DIR (or set SM_CHANNEL_TRAIN)")
    if args.split_file and args.validation:
        parser.error("--split-file and --validation both name a validation set; pass one of them")
    if (
        not 0 <= args.val_fraction < 1
        or not 0 <= args.test_fraction < 1
        or args.val_fraction + args.test_fraction >= 1
    ):
        parser.error("--val-fraction and --test-fraction must be in [0, 1) and leave images for training")
    try:
        hp = hyperparameters_from(args)
        hp.label_space()
        hp.preprocessing()
    except ValueError as error:
        parser.error(str(error))
    return args


def hyperparameters_from(args: argparse.Namespace) -> Hyperparameters:
    names = Hyperparameters.__dataclass_fields__
    return Hyperparameters(**{name: getattr(args, name) for name in names})


def _load_training_sources(paths: list[str], corrections: dict[str, int]) -> list[Sample]:
    samples = [sample for path in paths for sample in discover_dataset(Path(path))]
    samples = [
        replace(sample, count=corrections[sample.image_id]) if sample.image_id in corrections else sample
        for sample in samples
    ]
    seen: dict[str, Path] = {}
    for sample in samples:
        if sample.image_id in seen and seen[sample.image_id] != sample.path:
            logger.warning(
                "image id %s is in two training sources (%s, %s)",
                sample.image_id,
                seen[sample.image_id],
                sample.path,
            )
        seen[sample.image_id] = sample.path
    return samples


def _split_by_file(samples: list[Sample], split_file: Path) -> dict[str, list[Sample]]:
    """Listed photos go to their split; unlisted ones (other data sources) only train; `held_out` photos
    (a test bin's re-encoded photos) are used by nothing."""
    assignment = read_split(split_file)
    splits: dict[str, list[Sample]] = {name: [] for name in SPLIT_NAMES}
    for sample in samples:
        splits[assignment.get(sample.image_id, "train")].append(sample)
    if not splits["validation"]:
        raise DatasetLayoutError(f"no photo of the training data is in {split_file}'s validation split")
    return {name: part for name, part in splits.items() if part and name != HELD_OUT}


def _load_splits(args: argparse.Namespace) -> dict[str, list[Sample]]:
    corrections = read_corrections(Path(args.label_corrections)) if args.label_corrections else {}
    samples = _load_training_sources(args.train, corrections)
    if args.split_file:
        splits = _split_by_file(samples, Path(args.split_file))
        if args.test:
            splits["test"] = discover_dataset(Path(args.test))
        return splits
    if args.validation:
        splits = {"train": samples, "validation": discover_dataset(Path(args.validation))}
        if args.test:
            splits["test"] = discover_dataset(Path(args.test))
        shared = {s.image_id for s in splits["train"]} & {s.image_id for s in splits["validation"]}
        if shared:
            logger.warning(
                "%d image id(s) appear in both train and validation: validation figures are optimistic",
                len(shared),
            )
        return splits
    fractions = (1.0 - args.val_fraction - args.test_fraction, args.val_fraction, args.test_fraction)
    train, validation, test = stratified_split(samples, fractions, seed=args.seed)
    splits = {"train": train, "validation": validation}
    if args.test:
        splits["test"] = discover_dataset(Path(args.test))
    elif test:
        splits["test"] = test
    return splits


def _headline_lines(name: str, report: dict[str, Any]) -> list[str]:
    """One line per range of counts: counting accuracy, then how well the evidence tells wrong from right."""
    lines = []
    for photos in PHOTO_RANGES:
        counting = report["counting"].get(photos)
        reconciliation = report["reconciliation"].get(photos)
        if counting is None:
            continue
        line = (
            f"{name} {photos.replace('_', ' ')}: accuracy={counting['accuracy']:.4f} "
            f"rmse={counting['rmse']:.3f} ({counting['samples']} images)"
        )
        if reconciliation is not None:
            line += (
                f"; auroc={reconciliation['auroc']:.3f} "
                f"auroc_within_count={reconciliation['auroc_within_count']:.3f} "
                f"caught={reconciliation['caught']:.3f} cleared={reconciliation['cleared']:.3f} "
                f"cost_per_1000_bins={reconciliation['cost_per_1000_bins']:.1f}"
            )
        lines.append(line)
    return lines


def _served_evaluation(
    model_dir: Path,
    config: ModelConfig,
    result: TrainingResult,
    labelled: dict[str, LabelledSamples],
    *,
    evidence: str,
    report_test: bool,
    groups: dict[str, str],
) -> tuple[ModelConfig, dict[str, Any]]:
    """Fit the evidence rule on validation through the served runtime, then report validation (and test
    when asked: otherwise no test photo is read)."""
    served = load_count_model(model_dir)
    label_space = config.label_space
    outputs = {
        name: served_logits(served, labelled[name].samples)
        for name in ("validation", "test")
        if labelled.get(name) and labelled[name].samples and (name != "test" or report_test)
    }
    train_counts = [sample.count for sample in labelled["train"].samples]
    rule = fit_rule(outputs["validation"], label_space, train_counts, evidence)
    print(
        f"evidence rule (fitted on validation): {rule.statistic}, temperature {rule.temperature:.3f}, "
        f"log-odds of a wrong record = {rule.slope:.3f} x statistic + {rule.intercept:.3f}"
        + "".join(
            f"; from {first} items: {slope:.3f} x + {intercept:.3f}" for first, slope, intercept in rule.bands
        ),
        flush=True,
    )
    evaluations = {
        name: split_report(output, rule, label_space, groups=groups) for name, output in outputs.items()
    }
    for name, report in evaluations.items():
        for line in _headline_lines(name, report):
            print(line, flush=True)
    evaluation = {
        **{k: v for k, v in evaluations["validation"].items() if k not in PER_IMAGE_FIELDS},
        "split": "validation",
        "model_version": config.model_version,
        "best_epoch": result.best_epoch,
        "training_seconds": round(result.seconds, 1),
        "splits": evaluations,
        "history": result.history,
        "unreadable_images": result.unreadable,
    }
    return replace(config, reconciliation=rule), evaluation


def _int8_inputs(labelled: dict[str, LabelledSamples], originals: set[str]) -> Int8Inputs:
    """Training photos spread over the set to calibrate on, the robots' own photos (originals) where the
    split names them, since activation ranges are what int8 keeps; validation photos to check (never test)."""
    train = labelled["train"].samples
    train_originals = [s for s in train if s.image_id in originals]
    pool = train_originals if len(train_originals) >= CALIBRATION_IMAGES else train
    step = max(1, len(pool) // CALIBRATION_IMAGES)
    check = labelled["validation"]
    rows = range(0, len(check.samples), max(1, len(check.samples) // INT8_CHECK_IMAGES))[:INT8_CHECK_IMAGES]
    return Int8Inputs(
        calibration=[s.path for s in pool[::step]][:CALIBRATION_IMAGES],
        check_images=[check.samples[row].path for row in rows],
        check_targets=[check.targets[row] for row in rows],
        check_split="validation",
    )


def _package(
    args: argparse.Namespace,
    hp: Hyperparameters,
    result: TrainingResult,
    labelled: dict[str, LabelledSamples],
    groups: dict[str, str],
    originals: set[str],
) -> None:
    version = make_model_version(hp.backbone)
    model_dir = Path(args.model_dir)
    config = ModelConfig(
        backbone=hp.backbone,
        label_space=hp.label_space(),
        preprocessing=hp.preprocessing(),
        model_version=version,
        flip_views=hp.flip_views,
        training={
            "hyperparameters": asdict(hp),
            "weights": result.weights_source,
            "images": {name: len(items.samples) for name, items in labelled.items()},
            "arithmetic": result.arithmetic,
        },
    )
    saved = write_model_dir(
        model_dir,
        result.model,
        config,
        with_onnx=args.export_onnx,
        int8_inputs=_int8_inputs(labelled, originals) if args.int8 else None,
    )
    saved, evaluation = _served_evaluation(
        model_dir,
        saved,
        result,
        labelled,
        evidence=hp.evidence,
        report_test=args.report_test,
        groups=groups,
    )
    finish_model_dir(model_dir, saved, evaluation)
    if args.output_data_dir:  # the job's output.tar.gz gets the same report as the model
        output_dir = Path(args.output_data_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        for name in (EVALUATION_FILE, CONFUSION_MATRIX_FILE):
            shutil.copy2(model_dir / name, output_dir / name)
    print(f"model {version} written to {model_dir} (serving runtime {saved.runtime})", flush=True)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> None:
    """Train (in this process, or as one DDP rank); the main process then writes the model directory."""
    configure_logging()
    joined = distributed.launched_by_torchrun()
    context = distributed.join_process_group() if joined else distributed.DistributedContext()
    try:
        hp = hyperparameters_from(args)
        device = torch.device(f"cuda:{context.local_rank}" if torch.cuda.is_available() else "cpu")
        splits = _load_splits(args)
        entries = read_split_entries(Path(args.split_file)) if args.split_file else {}
        groups = {image_id: entry.bin_group for image_id, entry in entries.items()}
        originals = {image_id for image_id, entry in entries.items() if entry.original}
        labelled = {
            name: assign_classes(samples, hp.label_space(), name, groups) for name, samples in splits.items()
        }
        if context.is_main:
            for name, samples in splits.items():
                kept = labelled[name].samples
                left_out = (
                    f" ({len(samples) - len(kept)} above max-count left out)"
                    if len(kept) < len(samples)
                    else ""
                )
                print(f"{name}: {len(kept)} images, counts {count_histogram(kept)}{left_out}", flush=True)
        checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else None
        trainer = Trainer(
            hp,
            labelled["train"],
            labelled["validation"],
            device=device,
            context=context,
            checkpoint_dir=checkpoint_dir,
        )
        result = trainer.run()
        if context.is_main:
            _package(args, hp, result, labelled, groups, originals)
    finally:
        distributed.leave_process_group(context)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    try:
        if args.num_gpus > 1 and not distributed.launched_by_torchrun():
            distributed.spawn_per_gpu(args.num_gpus, functools.partial(run, args))
        else:
            run(args)
    except (
        DatasetLayoutError,
        SplitFileError,
        CorrectionsFileError,
        WeightsUnavailableError,
        FileNotFoundError,
    ) as error:
        report_failure(error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
