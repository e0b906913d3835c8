"""Benchmark 1: the model's decisions on real ABID photos, on a fixed test split nothing trains on.

Side by side, scored in one run on the same test photos (contracts/abid_sample_split.csv):
- the constant baseline: always the most frequent count of the training data;
- the previous system: the README's former laptop command (lite0 at 128 px, 10 epochs, cross-entropy),
  trained here by train.py on what it trained on (the original photos of ../shared/abid, here only the
  split's train part), deciding as it did (MATCH when its top count equals the expectation with
  confidence >= 0.5; otherwise flagged), on its uncalibrated probabilities;
- the shipped recipe: the model `make model-abid` wrote (.local/models/abid), checked to be the
  recipe in contracts/recipe.json.
For counts 1..5: accuracy, RMSE and per-count recall; then each photo reconciled against its true count
(a correct bin) and against true +-1 (a planted inventory error), scored by the model's calibrated
P(expected): AUROC, false alarms at 80% and 90% of errors caught, and the model's own rule (threshold
fitted on validation): errors caught, false alarms, correct bins cleared. Every figure has one standard
error (binomial, or a bootstrap over photos). Writes the `model-accuracy` section of bench/RESULTS.md,
the shipped model's test confusion matrix and the catch / false-alarm curves as PNGs.

    make model-abid && python bench/bench_model_accuracy.py [--model .local/models/abid]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from abid_bench_data import (
    DEFAULT_ABID_DIR,
    DEFAULT_MODEL_DIR,
    PROJECT_ROOT,
    WORK_DIR,
    fixed_split,
    load_average,
    shown_path,
)
from countnet.labels import LabelSpace
from countnet.metrics import evaluate_predictions
from countnet.model_config import ModelConfig
from countnet.plots import plot_confusion_matrix
from countnet.served_report import HEADLINE_COUNTS
from countnet.trainer import Hyperparameters
from countnet.verification import (
    REPORTED_CATCH_RATES,
    bootstrap_errors,
    verification_figures,
    verification_set,
)
from results import machine_description, write_section

from binventory.local.recipe_training import plan_recipe_run
from contracts.recipe import load_recipe

SECTION = "model-accuracy"
CONFUSION_PNG = PROJECT_ROOT / "bench" / "model_accuracy_confusion_matrix.png"
CURVES_PNG = PROJECT_ROOT / "bench" / "reconciliation_curves.png"
SCORES_FILE = WORK_DIR / "model-accuracy.json"  # read by bench_inference_speed.py
PREVIOUS_RECIPE = {  # the former laptop command: lite0, 128 px, 10 epochs, lr 1e-3, plain classes
    "backbone": "tf_efficientnet_lite0",
    "image-size": "128",
    "interpolation": "bicubic",
    "epochs": "10",
    "batch-size": "32",
    "lr": "0.001",
    "weight-decay": "0.05",
    "warmup-epochs": "1",
    "label-smoothing": "0.1",
    "loss": "ce",
    "max-count": "5",
    "over-max": "exclude",
    "balance": "none",
    "flip-views": "false",
    "patience": "5",
    "seed": "0",
}
ANCHORS = (
    "ABID challenge baseline: ResNet34 from scratch on ~481K images, counts 0..5, 55.67% / RMSE 0.930 "
    "([silverbottlep/abid_challenge](https://github.com/silverbottlep/abid_challenge), sec. 4.3)",
    "Udacity 'Inventory Monitoring' notebook capstones: ResNet50 on a 10K subset, counts 1..5, 30-40%",
)


LEGACY_CONFIDENCE = 0.5  # the previous rule's confidence threshold (cdk.json's default then)


@dataclass(frozen=True)
class Scored:
    """One model's per-photo test probabilities in its own label space, and how it decides: a threshold on
    P(expected) (mismatch_below), or, with None, the previous rule (top count and confidence)."""

    name: str
    label_space: LabelSpace
    image_ids: list[str]
    targets: list[int]
    probabilities: np.ndarray
    mismatch_below: float | None


def legacy_flags(model: Scored, verification_images: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """The previous rule: cleared only when the top count is the expectation at confidence >= 0.5."""
    top = model.probabilities[verification_images].argmax(axis=1)
    confidence = model.probabilities[verification_images].max(axis=1)
    counts = np.array([model.label_space.count_of(int(c)) for c in top])
    return ~((counts == expected) & (confidence >= LEGACY_CONFIDENCE))


def legacy_rule_figures(model: Scored, seed: int = 0) -> tuple[dict, dict]:
    """Caught / false alarms / cleared under the previous rule, with bootstrap errors over photos."""
    images, expected, planted = [], [], []
    for image, target in enumerate(model.targets):
        count = model.label_space.count_of(target)
        if count not in HEADLINE_COUNTS:
            continue
        for value, is_planted in ((count, False), (count - 1, True), (count + 1, True)):
            if value >= 0:
                images.append(image), expected.append(value), planted.append(is_planted)
    images, expected, planted = np.array(images), np.array(expected), np.array(planted)
    flags = legacy_flags(model, images, expected)

    def figures(rows: np.ndarray) -> dict:
        caught = flags[rows][planted[rows]].mean()
        alarms = flags[rows][~planted[rows]].mean()
        return {"caught": float(caught), "false_alarms": float(alarms), "cleared": float(1 - alarms)}

    rng = np.random.default_rng(seed)
    photos = np.unique(images)
    rows_of = {photo: np.flatnonzero(images == photo) for photo in photos}
    samples = [
        figures(np.concatenate([rows_of[p] for p in rng.choice(photos, len(photos))])) for _ in range(1000)
    ]
    errors = {name: float(np.std([s[name] for s in samples])) for name in samples[0]}
    return figures(np.arange(len(images))), errors


def _share_error(share: float, n: int) -> float:
    return math.sqrt(share * (1 - share) / n) if n else float("nan")


def score(model: Scored, seed: int = 0) -> dict:
    """Counting and reconciliation figures on the photos holding 1..5 items, each with its standard error."""
    space = model.label_space
    headline = [i for i, t in enumerate(model.targets) if space.count_of(t) in HEADLINE_COUNTS]
    truth = [model.targets[i] for i in headline]
    predicted = [int(model.probabilities[i].argmax()) for i in headline]
    counting = evaluate_predictions(truth, predicted, space)
    errors = np.array([space.count_of(p) - space.count_of(t) for t, p in zip(truth, predicted, strict=True)])
    rng = np.random.default_rng(seed)
    resampled_rmse = [
        math.sqrt(float((errors[rng.integers(0, len(errors), len(errors))] ** 2).mean())) for _ in range(1000)
    ]
    recall = {}
    for count in HEADLINE_COUNTS:
        support = counting["per_class"][str(count)]["support"]
        share = counting["per_class"][str(count)]["recall"]
        recall[str(count)] = (share, _share_error(share, support))
    verification = verification_set(model.probabilities, model.targets, space, HEADLINE_COUNTS)
    figures = verification_figures(verification, model.mismatch_below)
    errors = bootstrap_errors(verification, model.mismatch_below, seed)
    if model.mismatch_below is None:
        legacy, legacy_errors = legacy_rule_figures(model, seed)
        figures, errors = {**figures, **legacy}, {**errors, **legacy_errors}
    return {
        "photos": len(headline),
        "accuracy": (counting["accuracy"], _share_error(counting["accuracy"], len(headline))),
        "rmse": (counting["rmse"], float(np.std(resampled_rmse))),
        "recall": recall,
        "reconciliation": figures,
        "reconciliation_errors": errors,
        "confusion_matrix": counting["confusion_matrix"],
        "labels": counting["labels"],
        "curve": _curve(verification),
    }


def _curve(verification) -> list[tuple[float, float]]:
    """(share of planted errors caught, share of correct bins flagged) for every threshold."""
    thresholds = np.unique(np.concatenate([verification.planted, verification.correct, [1.0 + 1e-9]]))
    return [
        (float((verification.planted < t).mean()), float((verification.correct < t).mean()))
        for t in thresholds
    ]


def _from_model_dir(model_dir: Path, name: str, legacy: bool = False) -> Scored:
    """The test photos' probabilities train.py recorded; for the previous system, uncalibrated again
    (p = softmax(z / T), so softmax(T log p) = softmax(z)) and decided by the previous rule."""
    config = ModelConfig.read(model_dir)
    test = json.loads((model_dir / "evaluation.json").read_text())["splits"]["test"]
    probabilities = np.asarray(test["probabilities"])
    if legacy and config.reconciliation:
        logits = config.reconciliation.temperature * np.log(np.clip(probabilities, 1e-12, 1.0))
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
    return Scored(
        name=name,
        label_space=config.label_space,
        image_ids=test["image_ids"],
        targets=test["targets"],
        probabilities=probabilities,
        mismatch_below=None if legacy else config.reconciliation.mismatch_below,
    )


def check_is_current_recipe(model_dir: Path) -> dict:
    """The model's recorded hyperparameters must be today's recipe; otherwise the table would mislabel it."""
    if not (model_dir / "evaluation.json").is_file():
        raise SystemExit(f"{model_dir} holds no trained model: run `make model-abid` first")
    config = ModelConfig.read(model_dir)
    recorded = config.training.get("hyperparameters", {})
    expected = asdict(Hyperparameters())
    differing = sorted(k for k in expected if k != "workers" and recorded.get(k) != expected[k])
    if differing:
        raise SystemExit(
            f"{model_dir} was trained with another recipe ({', '.join(differing)} differ from "
            "contracts/recipe.json): run `make model-abid` again"
        )
    return json.loads((model_dir / "evaluation.json").read_text())


def train_previous_recipe(out_dir: Path) -> tuple[Path, float, float]:
    """train.py with the former laptop command's hyperparameters on the original photos only (the split's
    train part; validation and test as for the shipped model); returns dir, seconds, peak MB."""
    run = plan_recipe_run(out_dir, PREVIOUS_RECIPE)
    sources = run.command.index("--train") + 1
    command = [
        *run.command[:sources],
        str(DEFAULT_ABID_DIR),
        *run.command[run.command.index("--split-file") :],
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out_dir, time.perf_counter() - started, peak_mb


def constant_baseline(splits: dict, space: LabelSpace, test_ids: list[str], targets: list[int]) -> Scored:
    """Always the most frequent count of the training data (originals' train part plus abid-224)."""
    counts = Counter(s.count for s in splits["train"])
    abid_224 = PROJECT_ROOT.parent / "shared" / "abid-224" / "labels.csv"
    if abid_224.is_file():
        rows = abid_224.read_text().splitlines()[1:]
        counts.update(int(line.split(",")[1]) for line in rows)
    majority = max((c for c in counts if space.class_of(c) is not None), key=lambda c: counts[c])
    probabilities = np.zeros((len(targets), space.num_classes))
    probabilities[:, space.class_of(majority)] = 1.0
    return Scored(
        name=f"constant: always {majority} (most frequent training count)",
        label_space=space,
        image_ids=test_ids,
        targets=targets,
        probabilities=probabilities,
        mismatch_below=0.5,  # P(expected) is 1 for its one count, 0 otherwise: any threshold in (0, 1]
    )


def _pm(value: tuple[float, float], percent: bool = True) -> str:
    return f"{value[0]:.1%} ± {value[1]:.1%}" if percent else f"{value[0]:.3f} ± {value[1]:.3f}"


def _figure(scores: dict, name: str, percent: bool = True) -> str:
    value, error = scores["reconciliation"][name], scores["reconciliation_errors"].get(name, float("nan"))
    return f"{value:.1%} ± {error:.1%}" if percent else f"{value:.3f} ± {error:.3f}"


def counting_rows(scored: list[Scored], scores: list[dict]) -> list[str]:
    rows = [
        "| model | photos | accuracy | RMSE | " + " | ".join(f"recall {c}" for c in HEADLINE_COUNTS) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(HEADLINE_COUNTS),
    ]
    for model, figures in zip(scored, scores, strict=True):
        recalls = " | ".join(_pm(figures["recall"][str(c)]) for c in HEADLINE_COUNTS)
        rows.append(
            f"| {model.name} | {figures['photos']} | **{_pm(figures['accuracy'])}** | "
            f"{_pm(figures['rmse'], percent=False)} | {recalls} |"
        )
    return rows


def reconciliation_rows(scored: list[Scored], scores: list[dict]) -> list[str]:
    rows = [
        "| model | AUROC of 1 - P(expected) | false alarms at 80% caught | false alarms at 90% caught | "
        "its rule: errors caught | its rule: false alarms | its rule: correct bins cleared |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model, figures in zip(scored, scores, strict=True):
        rows.append(
            f"| {model.name} | **{_figure(figures, 'auroc', percent=False)}** | "
            f"**{_figure(figures, 'false_alarms_at_80_caught')}** | "
            f"{_figure(figures, 'false_alarms_at_90_caught')} | {_figure(figures, 'caught')} | "
            f"{_figure(figures, 'false_alarms')} | {_figure(figures, 'cleared')} |"
        )
    return rows


def plot_curves(scored: list[Scored], scores: list[dict], path: Path) -> None:
    """Share of planted errors caught against share of correct bins flagged, with each rule's point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.2, 5.2))
    for model, figures in zip(scored, scores, strict=True):
        caught, alarms = zip(*figures["curve"], strict=True)
        line = axes.plot(
            alarms, caught, label=f"{model.name[:48]} (AUROC {figures['reconciliation']['auroc']:.2f})"
        )
        rule = figures["reconciliation"]
        axes.plot([rule["false_alarms"]], [rule["caught"]], "o", color=line[0].get_color())
    axes.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    for rate in REPORTED_CATCH_RATES:
        axes.axhline(rate, color="grey", linewidth=0.5)
    axes.set_xlabel("correct bins flagged (false alarms)")
    axes.set_ylabel("planted +-1 errors flagged (caught)")
    axes.set_title(
        "Reconciliation on the ABID test photos (counts 1..5); dots: each model's rule", fontsize=9
    )
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def calibration_line(evaluation: dict) -> str:
    """How well P(count) is calibrated on the test photos, with and without the fitted temperature."""
    calibration = evaluation["calibration"]
    return (
        f"Calibration of the shipped model on the {evaluation['samples']} test photos with 0..5 items: "
        f"expected calibration error {calibration['ece']:.3f} with the temperature fitted on validation "
        f"({calibration['temperature']:.2f}), {calibration['ece_uncalibrated']:.3f} without it."
    )


def render(args, scored, scores, shipped_eval, previous_seconds, previous_mb, load) -> str:
    recipe = load_recipe().hyperparameters
    test_photos = scores[-1]["photos"]
    shipped_minutes = shipped_eval["training_seconds"] / 60
    lines = [
        "## Benchmark 1: decisions on real ABID photos (fixed test split, counts 1..5)",
        "",
        "Command: `make model-abid && python bench/bench_model_accuracy.py` "
        f"(model: `{shown_path(args.model)}`).",
        f"Hardware: {machine_description()}, no GPU. Load average (other work shares the machine): {load}.",
        f"Test photos: the {test_photos} original ABID photos holding 1..5 items in the test part of "
        "`contracts/abid_sample_split.csv` (seed 2026, stratified; nothing trains or selects on "
        "them). The shipped model trains on the split's train part plus ../shared/abid-224; the "
        "validation part chose the epoch, int8 vs fp32, the temperature and the threshold.",
        f"Shipped recipe: `{json.dumps(recipe)}` ({shipped_minutes:.0f} min of training on this machine, "
        f"best epoch {shipped_eval['best_epoch']}). Previous system: `{json.dumps(PREVIOUS_RECIPE)}`, "
        "trained in this run on the original photos of the split's train part only, as the former laptop "
        f"command trained on ../shared/abid ({previous_seconds / 60:.0f} min, "
        f"peak RSS {previous_mb:.0f} MB); "
        "it is scored on its uncalibrated probabilities and decided by the former rule (cleared when its top "
        f"count is the expectation at confidence >= {LEGACY_CONFIDENCE}, else flagged).",
        "",
        "### Counting",
        "",
        *counting_rows(scored, scores),
        "",
        "### Reconciliation: is the expected quantity right?",
        "",
        "Each test photo is reconciled against its true count (a correct bin) and against true - 1 and "
        "true + 1 (planted inventory errors; an expectation of 0 is included, one above the model's counts "
        "is flagged as the Lambda flags it). The shipped model flags a bin (MISMATCH or LOW_CONFIDENCE) "
        "when its calibrated P(expected count) is below its rule's threshold, which train.py fitted on the "
        "validation photos to catch 80% of planted errors. The first three columns describe the score "
        "P(expected) itself (any threshold); the last three each model's rule as deployed.",
        "",
        *reconciliation_rows(scored, scores),
        "",
        calibration_line(shipped_eval),
        "",
        f"Pictures: the shipped model's test confusion matrix [{CONFUSION_PNG.name}]({CONFUSION_PNG.name}); "
        f"catch / false-alarm curves [{CURVES_PNG.name}]({CURVES_PNG.name}).",
        "",
        "Published anchors, not like-for-like (other data, other splits): " + "; ".join(ANCHORS) + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="the shipped recipe's model dir"
    )
    parser.add_argument(
        "--previous-model",
        type=Path,
        default=None,
        help="reuse a previous-recipe model dir instead of training",
    )
    args = parser.parse_args()
    load_before = load_average()
    shipped_eval = check_is_current_recipe(args.model)
    splits = fixed_split()
    shipped = _from_model_dir(args.model, "shipped recipe (`make model-abid`)")
    if args.previous_model:
        previous_dir, previous_seconds, previous_mb = args.previous_model, float("nan"), float("nan")
    else:
        previous_dir, previous_seconds, previous_mb = train_previous_recipe(WORK_DIR / "previous-recipe")
    previous = _from_model_dir(
        previous_dir, "previous system: lite0 128 px, 10 epochs, originals only, old rule", legacy=True
    )
    constant = constant_baseline(splits, shipped.label_space, shipped.image_ids, shipped.targets)
    scored = [constant, previous, shipped]
    scores = [score(model) for model in scored]
    plot_confusion_matrix(
        scores[-1]["confusion_matrix"],
        scores[-1]["labels"],
        CONFUSION_PNG,
        f"shipped recipe, ABID test photos with 1..5 items ({scores[-1]['photos']})",
    )
    plot_curves(scored, scores, CURVES_PNG)
    load = f"{load_before} before, {load_average()} after"
    markdown = render(args, scored, scores, shipped_eval, previous_seconds, previous_mb, load)
    write_section(SECTION, markdown)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    SCORES_FILE.write_text(
        json.dumps(
            {
                m.name: {k: v for k, v in s.items() if k != "curve"}
                for m, s in zip(scored, scores, strict=True)
            },
            indent=1,
        )
    )
    print(markdown)


if __name__ == "__main__":
    sys.exit(main())
