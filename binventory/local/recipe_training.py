"""Train the shipped recipe on this machine, on the ABID data in ../shared, exactly as SageMaker would.

It runs the SageMaker entry point (model_code/train.py) as a plain CLI with the recipe's local data:
the original ABID photos and the re-encoded abid-224 photos, split by bin (contracts/abid_split.csv:
train / validation / a test set of original photos nothing trains or selects on), with the known label
corrections (contracts/label_corrections.csv).
Checkpoints go beside the model, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.recipe import load_recipe

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRAIN_SCRIPT = PROJECT_ROOT / "model_code" / "train.py"
DEFAULT_MODEL_DIR = Path(".local/models/abid")


class MissingTrainingData(FileNotFoundError):
    """A data folder the recipe trains on is not on this machine."""


@dataclass(frozen=True)
class RecipeRun:
    """The train.py command line of one local recipe run, and where it writes."""

    command: list[str]
    model_dir: Path


def plan_recipe_run(
    model_dir: Path,
    overrides: dict[str, str] | None = None,
    *,
    data: Sequence[Path] = (),
    add_data: Sequence[Path] = (),
) -> RecipeRun:
    """The command that trains the recipe on its local data; refuses when a data folder is missing.

    `data` replaces the recipe's ABID folders (train.py then splits it, seeded, instead of the fixed split
    file); `add_data` folders train beside them, e.g. the reviewed photos `binventory data reviews` wrote
    (photos the split file does not list always train).
    """
    recipe_data = load_recipe().training_data
    sources = list(data) or [PROJECT_ROOT / path for path in recipe_data["local"]]
    extra = list(add_data)
    missing = [str(path) for path in (*sources, *extra) if not (path / "labels.csv").is_file()]
    if missing:
        raise MissingTrainingData(
            f"training data not found: {', '.join(missing)} (a folder with labels.csv). The recipe trains on "
            "the ABID sample in ../shared/abid and ../shared/abid-224 beside this checkout (see their "
            "SOURCES.md); `binventory data reviews` writes the reviewed photos' folder."
        )
    flags = [part for name, value in (overrides or {}).items() for part in (f"--{name}", value)]
    split = [] if data else ["--split-file", str(PROJECT_ROOT / recipe_data["split_file"])]
    command = [
        sys.executable,
        str(TRAIN_SCRIPT),
        "--train",
        *map(str, [*sources, *extra]),
        *split,
        "--label-corrections",
        str(PROJECT_ROOT / recipe_data["label_corrections"]),
        "--model-dir",
        str(model_dir),
        "--output-data-dir",
        str(model_dir.with_name(model_dir.name + "-evaluation")),
        "--checkpoint-dir",
        str(model_dir.with_name(model_dir.name + "-checkpoints")),
        *flags,
    ]
    return RecipeRun(command=command, model_dir=model_dir)


def run_recipe(run: RecipeRun) -> int:
    """Run train.py in the foreground (its per-epoch lines and progress bar go to this terminal)."""
    return subprocess.run(run.command, check=False).returncode
