"""SageMaker training entry point for the bin-count model; also a plain CLI on a laptop.

Every SageMaker variable is only the default of a flag, so both of these work:
    python model_code/train.py --train ../shared/abid --model-dir /tmp/model --epochs 3
    (in the training container) python train.py --backbone resnet34 --epochs 30
With one data channel the images are split (stratified, seeded) into train/validation/test; with a
validation channel that channel is used as is (and a test channel, when given, for the final figures).
The model directory is written ready to serve (see countnet.packaging).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from countnet import distributed
from countnet.checkpoints import default_checkpoint_dir
from countnet.data import DatasetLayoutError, Sample, count_histogram, discover_dataset
from countnet.evaluation import predict_loader
from countnet.labels import OVER_MAX_POLICIES
from countnet.loading import BinImageDataset, make_loader
from countnet.losses import LOSSES
from countnet.metrics import evaluate_predictions
from countnet.model import BACKBONES
from countnet.model_config import CONFUSION_MATRIX_FILE, EVALUATION_FILE, ModelConfig, make_model_version
from countnet.packaging import Int8Inputs, write_model_dir
from countnet.quantization import CALIBRATION_IMAGES
from countnet.splits import BALANCE_MODES, stratified_split
from countnet.training import Hyperparameters, LabelledSamples, Trainer, TrainingResult, assign_classes

logger = logging.getLogger("train")
DEFAULTS = Hyperparameters()
INT8_CHECK_IMAGES = 1000  # held-out images the int8 model is checked on


def _hyperparameter_default(name: str, fallback: Any) -> Any:
    """SM_HPS (the job's hyperparameters as JSON) first, then the built-in default."""
    hyperparameters = json.loads(os.environ.get("SM_HPS", "{}") or "{}")
    return hyperparameters.get(name, fallback)


def _true_or_false(value: str) -> bool:
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    env = os.environ.get
    data = parser.add_argument_group("data and output (SageMaker environment variables are the defaults)")
    data.add_argument(
        "--train", default=env("SM_CHANNEL_TRAIN"), help="dataset folder or labels file (SM_CHANNEL_TRAIN)"
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
        "--export-onnx",
        type=_true_or_false,
        default=True,
        help="also write model.onnx for faster CPU serving (true|false)",
    )
    data.add_argument(
        "--int8",
        type=_true_or_false,
        default=True,
        help="also write model.int8.onnx when it is as accurate on validation as fp32 (true|false)",
    )

    def hyperparameter(name: str, kind: type, help_text: str, **extra: Any) -> None:
        attribute = name.replace("-", "_")
        default = kind(_hyperparameter_default(name, getattr(DEFAULTS, attribute)))
        parser.add_argument(
            f"--{name}", type=kind, default=default, help=f"{help_text} (default {default})", **extra
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
    hyperparameter("patience", int, "stop after this many epochs without a better validation accuracy")
    hyperparameter("seed", int, "seed for splits, initialisation and augmentation")
    hyperparameter("workers", int, "DataLoader worker processes; -1 picks for the machine")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        logger.warning("ignoring arguments train.py does not know: %s", " ".join(unknown))
    if not args.train:
        parser.error("no training data: pass --train DIR (or set SM_CHANNEL_TRAIN)")
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


def _load_splits(args: argparse.Namespace) -> dict[str, list[Sample]]:
    samples = discover_dataset(Path(args.train))
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


def _evaluate_split(model: torch.nn.Module, labelled: LabelledSamples, hp: Hyperparameters) -> dict[str, Any]:
    dataset = BinImageDataset(labelled.samples, labelled.targets, hp.preprocessing(), augment=False)
    predictions = predict_loader(
        model, make_loader(dataset, hp.batch_size * 2, workers=0), torch.device("cpu")
    )
    return evaluate_predictions(predictions.y_true, predictions.y_pred, hp.label_space())


def _final_evaluation(
    result: TrainingResult, labelled: dict[str, LabelledSamples], hp: Hyperparameters, version: str
) -> dict[str, Any]:
    """evaluation.json: the test figures when there is a test split (else validation), plus the rest."""
    label_space = hp.label_space()
    evaluations = {
        "validation": evaluate_predictions(result.validation.y_true, result.validation.y_pred, label_space)
    }
    if labelled.get("test") and labelled["test"].samples:
        test = evaluations["test"] = _evaluate_split(result.model, labelled["test"], hp)
        print(
            f"test: accuracy={test['accuracy']:.4f} rmse={test['rmse']:.4f} mae={test['mae']:.4f} "
            f"macro_f1={test['macro_f1']:.4f} ({test['samples']} images)",
            flush=True,
        )
    headline = "test" if "test" in evaluations else "validation"
    return {
        **evaluations[headline],
        "split": headline,
        "model_version": version,
        "best_epoch": result.best_epoch,
        "training_seconds": round(result.seconds, 1),
        "splits": evaluations,
        "history": result.history,
        "unreadable_images": result.unreadable,
    }


def _int8_inputs(labelled: dict[str, LabelledSamples]) -> Int8Inputs:
    """Training images spread over the set to calibrate on; test images (else validation) to check."""
    train = labelled["train"].samples
    step = max(1, len(train) // CALIBRATION_IMAGES)
    check_split = "test" if labelled.get("test") and labelled["test"].samples else "validation"
    check = labelled[check_split]
    return Int8Inputs(
        calibration=[s.path for s in train[::step]][:CALIBRATION_IMAGES],
        check_images=[s.path for s in check.samples[:INT8_CHECK_IMAGES]],
        check_targets=check.targets[:INT8_CHECK_IMAGES],
        check_split=check_split,
    )


def _package(
    args: argparse.Namespace,
    hp: Hyperparameters,
    result: TrainingResult,
    labelled: dict[str, LabelledSamples],
) -> None:
    version = make_model_version(hp.backbone)
    evaluation = _final_evaluation(result, labelled, hp, version)
    config = ModelConfig(
        backbone=hp.backbone,
        label_space=hp.label_space(),
        preprocessing=hp.preprocessing(),
        model_version=version,
        training={
            "hyperparameters": asdict(hp),
            "weights": result.weights_source,
            "images": {name: len(items.samples) for name, items in labelled.items()},
        },
    )
    saved = write_model_dir(
        Path(args.model_dir),
        result.model,
        config,
        evaluation,
        with_onnx=args.export_onnx,
        int8_inputs=_int8_inputs(labelled) if args.int8 else None,
    )
    if args.output_data_dir:  # the job's output.tar.gz gets the same report as the model
        output_dir = Path(args.output_data_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        for name in (EVALUATION_FILE, CONFUSION_MATRIX_FILE):
            shutil.copy2(Path(args.model_dir) / name, output_dir / name)
    print(f"model {version} written to {args.model_dir} (serving runtime {saved.runtime})", flush=True)


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
        labelled = {name: assign_classes(samples, hp.label_space(), name) for name, samples in splits.items()}
        if context.is_main:
            for name, samples in splits.items():
                print(
                    f"{name}: {len(labelled[name].samples)} images, counts {count_histogram(samples)}",
                    flush=True,
                )
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
            _package(args, hp, result, labelled)
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
    except (DatasetLayoutError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
