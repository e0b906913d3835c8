"""Recipe comparisons on validation, over seeds: the record of what was tried and what it did.

Each candidate is a set of model directories train.py wrote (one per seed) with the same recipe but for the
thing compared. Everything is read from their evaluation.json (validation's per-photo probabilities, which
train.py keeps) and scored here with the project's own code, on the validation part of the fixed split only:
no figure of the test part is read or printed. For every candidate: the mean and the spread over seeds of
the accuracy, the verification AUROC and the AUROC within each expected count, on all validation photos and on
the original photos alone, for bins of 0..5, 2..5 and more than 5 items, with both evidence statistics; and
the same for the ensemble of its seeds (the average of their probabilities), which costs one forward pass
per seed to serve. Appends a section to bench/EXPERIMENTS.md and the raw figures to bench/experiments.jsonl.

    python bench/validation_experiments.py --title "label space" \
        --candidate "0..15 + 16+" /tmp/exp/C0-s0/model /tmp/exp/C0-s1/model /tmp/exp/C0-s2/model \
        --candidate "0..5" /tmp/exp/K5-s0/model ...
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from abid_bench_data import DEFAULT_ABID_DIR, PROJECT_ROOT
from countnet.labels import LabelSpace
from countnet.model_config import ModelConfig
from countnet.served_report import EVIDENCE_BAND_STARTS, PHOTO_RANGES, counting_report
from countnet.verification import (
    class_prior,
    fit_evidence,
    probability_maps,
    reconciliation_records,
    record_statistics,
    separation_figures,
    tail_ratio,
)
from results import machine_description

from contracts.fixed_split import read_split
from contracts.label_corrections import read_corrections
from contracts.model_answer import STATISTICS

EXPERIMENTS_FILE = PROJECT_ROOT / "bench" / "EXPERIMENTS.md"
RAW_FILE = PROJECT_ROOT / "bench" / "experiments.jsonl"
SUBSETS = ("all", "originals")
SHOWN = (  # (subset, range, figure) columns of the table
    ("all", "0_to_5", "accuracy"),
    ("all", "2_to_5", "auroc_within_count"),
    ("originals", "2_to_5", "auroc_within_count"),
    ("all", "2_to_5", "auroc"),
    ("all", "above_5", "accuracy"),
    ("all", "above_5", "auroc_within_count"),
)


@dataclass(frozen=True)
class Run:
    """One model's validation outputs: its label space, photos, true counts and calibrated probabilities."""

    name: str
    label_space: LabelSpace
    image_ids: list[str]
    counts: list[int]
    probabilities: np.ndarray
    temperature: float
    arithmetic: dict


def _labels() -> dict[str, int]:
    corrections = read_corrections()
    counts = {}
    for folder in (DEFAULT_ABID_DIR, DEFAULT_ABID_DIR.parent / "abid-224"):
        for line in (folder / "labels.csv").read_text().splitlines()[1:]:
            image_id, count = line.split(",")[:2]
            counts[image_id] = corrections.get(image_id, int(count))
    return counts


def load_run(model_dir: Path, labels: dict[str, int]) -> Run:
    config = ModelConfig.read(model_dir)
    validation = json.loads((model_dir / "evaluation.json").read_text())["splits"]["validation"]
    ids = validation["image_ids"]
    counts = validation.get("counts") or [labels[image_id] for image_id in ids]
    return Run(
        name=str(model_dir),
        label_space=config.label_space,
        image_ids=ids,
        counts=counts,
        probabilities=np.asarray(validation["probabilities"], dtype=np.float64),
        temperature=config.reconciliation.temperature if config.reconciliation else 1.0,
        arithmetic=config.training.get("arithmetic", {}),
    )


def ensemble(runs: list[Run]) -> Run:
    """The seeds' average probability per photo (the same photos, the same label space)."""
    first = runs[0]
    for run in runs[1:]:
        if run.image_ids != first.image_ids or run.label_space != first.label_space:
            raise SystemExit(f"{run.name} scored other photos or classes than {first.name}")
    mean = np.mean([run.probabilities for run in runs], axis=0)
    return Run("ensemble", first.label_space, first.image_ids, first.counts, mean, 1.0, first.arithmetic)


def figures(run: Run, train_counts: list[int], originals: set[str]) -> dict:
    """subset -> range -> statistic -> figures, on validation."""
    prior = class_prior(train_counts, run.label_space)
    tail = tail_ratio(train_counts, run.label_space)
    maps = probability_maps(run.probabilities, run.label_space.labels)
    result: dict = {}
    for subset in SUBSETS:
        keep = [i for i, image_id in enumerate(run.image_ids) if subset == "all" or image_id in originals]
        counts = [run.counts[i] for i in keep]
        sub_maps = [maps[i] for i in keep]
        probabilities = run.probabilities[keep]
        for name, photos in PHOTO_RANGES.items():
            counting = counting_report(probabilities, counts, run.label_space, photos)
            records = reconciliation_records(counts, run.label_space, photos)
            entry = {"accuracy": counting["accuracy"] if counting else float("nan")}
            entry["photos"] = counting["samples"] if counting else 0
            if records.wrong.any() and (~records.wrong).any():
                for statistic_name in STATISTICS:
                    rule = fit_evidence(
                        sub_maps,
                        records,
                        statistic_name=statistic_name,
                        temperature=run.temperature,
                        prior=prior,
                        tail=tail,
                        band_starts=[s for s in EVIDENCE_BAND_STARTS if run.label_space.num_classes > s],
                    )
                    separation = separation_figures(record_statistics(sub_maps, records, rule), records)
                    entry[statistic_name] = {
                        "auroc": separation["auroc"],
                        "auroc_within_count": separation["auroc_within_count"],
                    }
            result.setdefault(subset, {})[name] = entry
    return result


def _value(result: dict, subset: str, photos: str, figure: str, statistic_name: str) -> float:
    entry = result.get(subset, {}).get(photos, {})
    if figure == "accuracy":
        return entry.get("accuracy", float("nan"))
    return entry.get(statistic_name, {}).get(figure, float("nan"))


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(candidates: dict[str, list[dict]], ensembles: dict[str, dict], statistic_name: str) -> str:
    head = " | ".join(f"{subset} {photos.replace('_', ' ')} {figure}" for subset, photos, figure in SHOWN)
    lines = [f"| candidate | seeds | {head} |", "|---|---:|" + "---:|" * len(SHOWN)]
    for name, results in candidates.items():
        cells = [_spread([_value(r, *column, statistic_name) for r in results]) for column in SHOWN]
        lines.append(f"| {name} | {len(results)} | " + " | ".join(cells) + " |")
        if name in ensembles:
            cells = [f"{_value(ensembles[name], *column, statistic_name):.3f}" for column in SHOWN]
            lines.append(f"| {name}, ensemble of its seeds | 1 | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--title", required=True, help="what the comparison is about")
    parser.add_argument("--note", default="", help="what was compared and why, in a sentence or two")
    parser.add_argument(
        "--candidate",
        nargs="+",
        action="append",
        required=True,
        metavar=("NAME", "MODEL_DIR"),
        help="a candidate's name, then the model directories of its seeds",
    )
    args = parser.parse_args()
    labels = _labels()
    split = read_split()
    originals = {
        line.split(",")[0] for line in (DEFAULT_ABID_DIR / "labels.csv").read_text().splitlines()[1:]
    }
    train_counts = [labels[i] for i, part in split.items() if part == "train"]
    candidates: dict[str, list[dict]] = {}
    ensembles: dict[str, dict] = {}
    raw = []
    for name, *dirs in args.candidate:
        runs = [load_run(Path(d), labels) for d in dirs]
        candidates[name] = [figures(run, train_counts, originals) for run in runs]
        if len(runs) > 1:
            ensembles[name] = figures(ensemble(runs), train_counts, originals)
        raw.append(
            {"candidate": name, "models": dirs, "seeds": candidates[name], "ensemble": ensembles.get(name)}
        )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    arithmetic = load_run(Path(args.candidate[0][1]), labels).arithmetic
    section = [
        f"## {args.title} ({when})",
        "",
        args.note,
        "",
        f"Machine: {machine_description()}; training arithmetic {arithmetic or 'not recorded'}.",
        "Validation part of contracts/abid_split.csv only (no test photo is read). Mean ± standard deviation",
        "over seeds; the AUROC within each expected count pools pairs that carry the same expectation",
        "(0.5 for a model that ignores the image).",
    ]
    for statistic_name in STATISTICS:
        section += [
            "",
            f"Evidence statistic: {statistic_name}",
            "",
            table(candidates, ensembles, statistic_name),
        ]
    text = "\n".join(section) + "\n"
    print(text)
    existing = (
        EXPERIMENTS_FILE.read_text()
        if EXPERIMENTS_FILE.is_file()
        else (
            "# Validation experiments\n\nWritten by bench/validation_experiments.py, newest last: every "
            "recipe comparison, over seeds, on the validation part of the fixed split. Raw figures: "
            "bench/experiments.jsonl.\n"
        )
    )
    EXPERIMENTS_FILE.write_text(existing.rstrip("\n") + "\n\n" + text)
    with RAW_FILE.open("a") as handle:
        handle.write(json.dumps({"title": args.title, "when": when, "candidates": raw}) + "\n")


if __name__ == "__main__":
    main()
