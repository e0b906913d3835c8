"""Benchmark 1: the model's verdicts on real ABID photos, on a test part split by bin that nothing trains on.

Side by side, scored in one run on the same photos by the models as served (countnet.serving):
- class frequencies: a "model" that ignores the image and answers the training frequencies of every count;
  whatever it scores comes from the mix of counts alone;
- the previous recipe (issue 9's: 0..5 only, bins above 5 left out), trained in this run on the new split's
  train part by today's train.py;
- the shipped recipe: the model `make model-abid` wrote (.local/models/abid), checked to be the recipe in
  contracts/recipe.json.
Each photo of t items yields a right record (expected t) and planted errors (t - 1, t + 1) where the model
could err (never below 0; never inside the open-ended class). For bins of 0..5, 2..5 and more than 5 items,
separately: counting accuracy and RMSE, the verification AUROC and the AUROC within each expected count
(which an image-blind model scores at 0.5), and the decision at the default costs (contracts.decision):
errors caught, correct bins cleared, and the cost per 1,000 bins against looking at every bin and at none.
Every figure has a bootstrap standard error over bins, and the shipped model's advantage over each other
row a paired 95% interval (the same resampled bins for both).

Test figures are printed only when asked: without `--report-test` the benchmark scores the validation part
(what recipe work may look at); with it, the test part, once.

    make model-abid && python bench/bench_model_accuracy.py --report-test
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from abid_bench_data import DEFAULT_MODEL_DIR, PROJECT_ROOT, WORK_DIR, load_average, shown_path, split_photos
from countnet.labels import LabelSpace
from countnet.model_config import ModelConfig
from countnet.plots import plot_confusion_matrix
from countnet.served_report import (
    EVIDENCE_BAND_STARTS,
    PHOTO_RANGES,
    ServedOutputs,
    counting_report,
    served_logits,
)
from countnet.serving import load_count_model
from countnet.trainer import Hyperparameters
from countnet.verification import (
    BOOTSTRAP_ROUNDS,
    auroc,
    class_prior,
    decision_figures,
    fit_evidence,
    posteriors,
    probability_maps,
    reconciliation_records,
    record_statistics,
    separation_figures,
    tail_ratio,
    within_count_auroc,
)
from results import machine_description, write_section
from train import build_parser, hyperparameters_from

from binventory.local.recipe_training import plan_recipe_run
from contracts.decision import DEFAULT_COSTS, DecisionCosts
from contracts.fixed_split import bin_groups
from contracts.model_answer import EXPECTED_PROBABILITY, EvidenceRule
from contracts.recipe import load_recipe

SECTION = "model-accuracy"
CONFUSION_PNG = PROJECT_ROOT / "bench" / "model_accuracy_confusion_matrix.png"
CURVES_PNG = PROJECT_ROOT / "bench" / "reconciliation_curves.png"
SCORES_FILE = WORK_DIR / "model-accuracy.json"
# Issue 9's shipped recipe: counts 0..5 only, bins above five left out, P(expected) as its evidence.
PREVIOUS_RECIPE = {
    "backbone": "tf_efficientnet_lite0",
    "image-size": "160",
    "interpolation": "bilinear",
    "epochs": "8",
    "batch-size": "32",
    "lr": "0.001",
    "weight-decay": "0.05",
    "warmup-epochs": "0.5",
    "label-smoothing": "0.1",
    "loss": "ce",
    "max-count": "5",
    "over-max": "exclude",
    "balance": "none",
    "flip-views": "false",
    "evidence": EXPECTED_PROBABILITY,
    "pair-loss": "0",
    "patience": "5",
    "seed": "0",
}
ANCHORS = (
    "ABID challenge baseline: ResNet34 from scratch on ~481K images, counts 0..5, 55.67% / RMSE 0.930 "
    "([silverbottlep/abid_challenge](https://github.com/silverbottlep/abid_challenge), sec. 4.3)",
    "Udacity 'Inventory Monitoring' notebook capstones: ResNet50 on a 10K subset, counts 1..5, 30-40%",
)
RANGE_TITLES = {
    "0_to_5": "0..5 items",
    "2_to_5": "2..5 items",
    "above_5": "more than 5 items",
    "any": "any count: every photo, in the mix the split holds",
}
# Every photo at once: what the decision costs a warehouse whose bins come in this part's mix of counts.
RANGES = {**PHOTO_RANGES, "any": range(0, 1_000_000)}


@dataclass(frozen=True)
class Scored:
    """One model's probabilities on the scored photos, in its own label space, with its evidence rule."""

    name: str
    label_space: LabelSpace
    image_ids: list[str]
    counts: list[int]
    probabilities: np.ndarray
    rule: EvidenceRule


def check_trained_with(model_dir: Path, recipe: Hyperparameters, remedy: str) -> ModelConfig:
    """The model's recorded hyperparameters must be `recipe`'s; otherwise the table would mislabel its row."""
    if not (model_dir / "evaluation.json").is_file():
        raise SystemExit(f"{model_dir} holds no trained model: {remedy}")
    config = ModelConfig.read(model_dir)
    recorded = config.training.get("hyperparameters", {})
    expected = asdict(recipe)
    differing = sorted(k for k in expected if k != "workers" and recorded.get(k) != expected[k])
    if differing:
        raise SystemExit(
            f"{model_dir} was trained with another recipe ({', '.join(differing)} differ): {remedy}"
        )
    return config


def previous_hyperparameters() -> Hyperparameters:
    """PREVIOUS_RECIPE's flags as train.py reads them (typed, with its defaults for the rest)."""
    flags = [f"--{flag}={value}" for flag, value in PREVIOUS_RECIPE.items()]
    return hyperparameters_from(build_parser().parse_args(flags))


def train_previous_recipe(out_dir: Path) -> tuple[Path, float, float]:
    """train.py with the previous recipe on the new split; returns dir, seconds, peak MB."""
    run = plan_recipe_run(out_dir, PREVIOUS_RECIPE)
    started = time.perf_counter()
    subprocess.run([*run.command, "--int8", "false"], check=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out_dir, time.perf_counter() - started, peak_mb


def served(model_dir: Path, name: str, samples: list) -> Scored:
    """The model as the endpoint serves it, on `samples`, calibrated by its own rule."""
    model = load_count_model(model_dir)
    rule = model.config.reconciliation
    if rule is None:
        raise SystemExit(f"{model_dir} carries no evidence rule: retrain it with this version")
    outputs: ServedOutputs = served_logits(model, samples)
    probabilities = (outputs.logits / rule.temperature).softmax(dim=1).numpy()
    return Scored(name, model.config.label_space, outputs.image_ids, outputs.counts, probabilities, rule)


def frequency_baseline(shipped: Scored, train_counts: list[int], validation: Scored) -> Scored:
    """Every photo answered with the training frequencies; its rule fitted on validation like any model's."""
    prior = class_prior(train_counts, shipped.label_space)
    row = np.asarray([prior[label] for label in shipped.label_space.labels])
    maps = probability_maps(np.tile(row, (len(validation.counts), 1)), shipped.label_space.labels)
    records = reconciliation_records(validation.counts, shipped.label_space, photos=None)
    rule = fit_evidence(
        maps,
        records,
        statistic_name=shipped.rule.statistic,
        temperature=1.0,
        prior=prior,
        tail=tail_ratio(train_counts, shipped.label_space),
        band_starts=[s for s in EVIDENCE_BAND_STARTS if shipped.label_space.num_classes > s],
    )
    return Scored(
        "class frequencies (ignores the image)",
        shipped.label_space,
        shipped.image_ids,
        shipped.counts,
        np.tile(row, (len(shipped.counts), 1)),
        rule,
    )


@dataclass(frozen=True)
class RangeScores:
    """One model's per-record scores on one range of counts, ready to bootstrap."""

    records: object
    scores: np.ndarray
    wrong: np.ndarray
    correct_count: np.ndarray  # per photo: counted right
    squared_error: np.ndarray
    photo_groups: np.ndarray
    record_groups: np.ndarray


def range_scores(
    model: Scored, photos: range, groups: dict[str, str], costs: DecisionCosts
) -> RangeScores | None:
    space = model.label_space
    maps = probability_maps(model.probabilities, space.labels)
    records = reconciliation_records(model.counts, space, photos)
    keep = [i for i, count in enumerate(model.counts) if count in photos]
    if not keep or not records.wrong.any() or any(space.class_of(model.counts[i]) is None for i in keep):
        return None  # a model that cannot judge every photo of the range gets no row for it
    predicted = [space.count_of(int(model.probabilities[i].argmax())) for i in keep]
    truth = [model.counts[i] for i in keep]
    bins = [groups.get(image_id, image_id) for image_id in model.image_ids]
    return RangeScores(
        records=records,
        scores=record_statistics(maps, records, model.rule),
        wrong=posteriors(maps, records, model.rule, costs.wrong_record_rate),
        correct_count=np.asarray(
            [
                p == t
                or (space.labels[-1].endswith("+") and p == space.max_count + 1 and t > space.max_count)
                for p, t in zip(predicted, truth, strict=True)
            ]
        ),
        squared_error=np.asarray(
            [(min(p, 10**6) - t) ** 2 for p, t in zip(predicted, truth, strict=True)], float
        ),
        photo_groups=np.asarray([bins[i] for i in keep]),
        record_groups=np.asarray([bins[i] for i in records.image]),
    )


def figures_of(scores: RangeScores, rows: np.ndarray, photo_rows: np.ndarray, costs: DecisionCosts) -> dict:
    records = scores.records.subset(rows)
    separation = separation_figures(scores.scores[rows], records)
    return {
        "accuracy": float(scores.correct_count[photo_rows].mean()),
        "rmse": float(np.sqrt(scores.squared_error[photo_rows].mean())),
        "auroc": separation["auroc"],
        "auroc_within_count": separation["auroc_within_count"],
        "false_alarms_at_80_caught": separation["false_alarms_at_80_caught"],
        **decision_figures(scores.wrong[rows], records, costs),
    }


def bootstrap(models: list[RangeScores], costs: DecisionCosts, seed: int = 0) -> list[list[dict]]:
    """BOOTSTRAP_ROUNDS resamples of bins, the same bins for every model: [round][model] -> figures."""
    names = np.unique(np.concatenate([m.photo_groups for m in models]))
    rng = np.random.default_rng(seed)
    record_rows = [{g: np.flatnonzero(m.record_groups == g) for g in names} for m in models]
    photo_rows = [{g: np.flatnonzero(m.photo_groups == g) for g in names} for m in models]
    rounds = []
    for _ in range(BOOTSTRAP_ROUNDS):
        chosen = names[rng.integers(0, len(names), len(names))]
        rounds.append(
            [
                figures_of(
                    model,
                    np.concatenate([record_rows[i][g] for g in chosen]),
                    np.concatenate([photo_rows[i][g] for g in chosen]),
                    costs,
                )
                for i, model in enumerate(models)
            ]
        )
    return rounds


SHOWN = (
    ("accuracy", "accuracy", True),
    ("RMSE", "rmse", False),
    ("AUROC", "auroc", False),
    ("AUROC within each expected count", "auroc_within_count", False),
    ("false alarms at 80% caught", "false_alarms_at_80_caught", True),
    ("errors caught", "caught", True),
    ("correct bins cleared", "cleared", True),
    ("cost per 1,000 bins", "cost_per_1000_bins", False),
)


def _cell(value: float, error: float, percent: bool) -> str:
    if np.isnan(value):
        return "n/a"
    return f"{value:.1%} ± {error:.1%}" if percent else f"{value:.3f} ± {error:.3f}"


def range_table(names: list[str], point: list[dict], rounds: list[list[dict]]) -> list[str]:
    lines = ["| model | photos | " + " | ".join(title for title, _, _ in SHOWN) + " |"]
    lines.append("|---|---:|" + "---:|" * len(SHOWN))
    for index, name in enumerate(names):
        cells = []
        for _, key, percent in SHOWN:
            samples = [r[index][key] for r in rounds if not np.isnan(r[index][key])]
            cells.append(
                _cell(point[index][key], float(np.std(samples)) if samples else float("nan"), percent)
            )
        lines.append(f"| {name} | {point[index]['photos']} | " + " | ".join(cells) + " |")
    return lines


def advantage_lines(names: list[str], rounds: list[list[dict]]) -> list[str]:
    """The shipped model (last) minus each other row, paired over the same resampled bins: 95% intervals."""
    lines = []
    for index, name in enumerate(names[:-1]):
        parts = []
        for title, key in (
            ("AUROC within count", "auroc_within_count"),
            ("cost per 1,000 bins", "cost_per_1000_bins"),
        ):
            differences = [
                r[-1][key] - r[index][key] for r in rounds if not np.isnan(r[-1][key] - r[index][key])
            ]
            if differences:
                low, high = np.percentile(differences, [2.5, 97.5])
                parts.append(f"{title} {np.mean(differences):+.3f} [{low:+.3f}, {high:+.3f}]")
        if parts:
            lines.append(f"- shipped minus {name}: " + "; ".join(parts))
    return lines


def plot_curves(names: list[str], models: list[RangeScores], path: Path, part: str) -> None:
    """Planted errors caught against correct bins flagged, for every bar on the evidence (2..5 items)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.2, 5.2))
    for name, model in zip(names, models, strict=True):
        wrong, right = model.scores[model.records.wrong], model.scores[~model.records.wrong]
        bars = np.unique(np.concatenate([wrong, right]))[::-1]
        caught = [(wrong >= bar).mean() for bar in bars]
        alarms = [(right >= bar).mean() for bar in bars]
        axes.plot([0, *alarms, 1], [0, *caught, 1], label=f"{name[:44]} (AUROC {auroc(wrong, right):.2f})")
    axes.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    axes.set_xlabel("correct bins looked at (false alarms)")
    axes.set_ylabel("planted +-1 errors looked at (caught)")
    axes.set_title(f"Is the expected quantity right? ABID {part} photos with 2..5 items", fontsize=9)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="the shipped recipe's model dir"
    )
    parser.add_argument(
        "--previous-model", type=Path, help="reuse a previous-recipe model dir instead of training"
    )
    parser.add_argument(
        "--skip-previous",
        action="store_true",
        help="leave the previous recipe's row out (training it takes about an hour on 2 cores)",
    )
    parser.add_argument("--report-test", action="store_true", help="score the test part (else validation)")
    args = parser.parse_args()
    load_before = load_average()
    part = "test" if args.report_test else "validation"
    config = check_trained_with(args.model, Hyperparameters(), "run `make model-abid` (again)")
    splits = split_photos()
    photos = splits[part]  # the test part holds original photos only
    groups = bin_groups()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    shipped = served(args.model, "shipped recipe (`make model-abid`)", photos)
    validation = served(args.model, "validation", splits["validation"])
    train_counts = [s.count for s in splits["train"]]
    baseline = frequency_baseline(shipped, train_counts, validation)
    if args.skip_previous:
        previous_provenance = "not scored in this run (`--skip-previous`)"
        models = [baseline, shipped]
    else:
        if args.previous_model:
            previous_dir = args.previous_model
            check_trained_with(previous_dir, previous_hyperparameters(), "leave out --previous-model")
            previous_provenance = f"trained before this run by train.py (`{shown_path(previous_dir)}`)"
        else:
            previous_dir, seconds, peak_mb = train_previous_recipe(WORK_DIR / "previous-recipe")
            previous_provenance = f"trained in this run ({seconds / 60:.0f} min, peak RSS {peak_mb:.0f} MB)"
        previous = served(previous_dir, "previous recipe (0..5 only), retrained on this split", photos)
        models = [baseline, previous, shipped]
    names = [m.name for m in models]
    costs = DEFAULT_COSTS
    sections = []
    curves = None
    for range_name, counts in RANGES.items():
        scored = [range_scores(m, counts, groups, costs) for m in models]
        present = [(n, s) for n, s in zip(names, scored, strict=True) if s is not None]
        if not present or present[-1][0] != names[-1]:
            continue
        shown_names, shown = [n for n, _ in present], [s for _, s in present]
        point = [
            {
                **figures_of(s, np.arange(len(s.wrong)), np.arange(len(s.correct_count)), costs),
                "photos": len(s.correct_count),
            }
            for s in shown
        ]
        rounds = bootstrap(shown, costs)
        _, per_count = within_count_auroc(shown[-1].records, shown[-1].scores)
        sections += [
            f"### Bins of {RANGE_TITLES[range_name]}",
            "",
            *range_table(shown_names, point, rounds),
            "",
            *advantage_lines(shown_names, rounds),
            "",
            "Shipped model, AUROC within each expected count: "
            + ", ".join(f"expected {k}: {v:.3f}" for k, v in sorted(per_count.items())),
            "",
        ]
        if range_name == "2_to_5":
            curves = (shown_names, shown)
    counting = counting_report(shipped.probabilities, shipped.counts, shipped.label_space, None)
    plot_confusion_matrix(
        counting["confusion_matrix"],
        counting["labels"],
        CONFUSION_PNG,
        f"shipped recipe, ABID {part} photos ({counting['samples']})",
    )
    if curves:
        plot_curves(*curves, CURVES_PNG, part)
    recipe = load_recipe().hyperparameters
    look_all, look_none = 1000 * costs.look_cost, 1000 * costs.wrong_record_rate * costs.missed_error_cost
    lines = [
        f"## Benchmark 1: verdicts on real ABID photos ({part} part of the split by bin)",
        "",
        f"Command: `python bench/bench_model_accuracy.py{' --report-test' if args.report_test else ''}` "
        f"(model: `{shown_path(args.model)}`, arithmetic {config.training.get('arithmetic')}).",
        f"Hardware: {machine_description()}, no GPU. Load average: {load_before} before, "
        f"{load_average()} after.",
        f"Photos: the {len(shipped.counts)} {'original ' if part == 'test' else ''}photos of the {part} "
        "part of `contracts/abid_split.csv` (carved by bin: no bin of them has a photo in training). Errors "
        "are planted one item either way where the model could err: never below 0, and not inside the "
        "open-ended class (where the model cannot tell a count from its neighbour; those records are left "
        "out and counted).",
        f"Shipped recipe: `{json.dumps(recipe)}` ({config.training.get('images')}). Previous recipe: "
        f"`{json.dumps(PREVIOUS_RECIPE)}`, {previous_provenance}.",
        f"Decision at the default costs (contracts.decision): {costs.wrong_record_rate:.0%} of records "
        f"wrong, a look ${costs.look_cost:.2f}, a missed error ${costs.missed_error_cost:.2f}: looking at "
        f"every bin costs ${look_all:.0f} per 1,000 bins, looking at none ${look_none:.0f}. Costs are in "
        "dollars per 1,000 bins; ± is one bootstrap standard error over bins; intervals are paired 95% "
        "bootstrap intervals.",
        "",
        *sections,
        f"Pictures: the shipped model's confusion matrix [{CONFUSION_PNG.name}]({CONFUSION_PNG.name}); "
        f"errors caught against correct bins looked at [{CURVES_PNG.name}]({CURVES_PNG.name}).",
        "",
        "Published anchors, not like-for-like (other data, other splits): " + "; ".join(ANCHORS) + ".",
    ]
    markdown = "\n".join(lines)
    if args.report_test:
        write_section(SECTION, markdown)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    SCORES_FILE.write_text(json.dumps({"part": part, "markdown": markdown}, indent=1))
    print(markdown)


if __name__ == "__main__":
    sys.exit(main())
