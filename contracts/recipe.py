"""The shipped training recipe: the one set of hyperparameters every trainer starts from.

`contracts/recipe.json` is read by train.py (its flag defaults), by the CLI when it starts a
SageMaker training job (the job's hyperparameters), by `make model-abid`, by the benchmarks and, with
its small named set of demo overrides, by `make demo`. Nothing else states a default, so they cannot
drift apart (a test checks every party). The file ships with `contracts/` in the SageMaker training
source, so the training container reads the same file. Standard library only: the CLI and the stacks
import this module without PyTorch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPE_FILE = Path(__file__).resolve().parent / "recipe.json"
HyperparameterValue = str | int | float


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters by train.py flag name (`image-size`), and what the demo changes to train quickly."""

    hyperparameters: dict[str, HyperparameterValue]
    demo_overrides: dict[str, HyperparameterValue]
    training_data: dict[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.hyperparameters)

    def as_flags(self, overrides: dict[str, HyperparameterValue] | None = None) -> list[str]:
        """`["--backbone", "tf_efficientnet_lite0", ...]` for train.py, with `overrides` applied."""
        values = {**self.hyperparameters, **(overrides or {})}
        return [part for name, value in values.items() for part in (f"--{name}", str(value))]

    def as_strings(self) -> dict[str, str]:
        """The hyperparameters as SageMaker passes them: every value a string."""
        return {name: str(value) for name, value in self.hyperparameters.items()}


def load_recipe(path: Path = RECIPE_FILE) -> Recipe:
    """Read and check the recipe file; a malformed one stops with a message naming the problem."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the training recipe {path}: {error}") from error
    hyperparameters = document.get("hyperparameters")
    demo = document.get("demo_overrides", {})
    if not isinstance(hyperparameters, dict) or not hyperparameters:
        raise ValueError(f"{path}: 'hyperparameters' must be a non-empty object of train.py flags")
    unknown = set(demo) - set(hyperparameters)
    if unknown:
        raise ValueError(f"{path}: demo_overrides names unknown hyperparameters {sorted(unknown)}")
    for name, value in {**hyperparameters, **demo}.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{path}: {name} = {value!r}; values are strings or numbers")
    return Recipe(
        hyperparameters=dict(hyperparameters),
        demo_overrides=dict(demo),
        training_data=dict(document.get("training_data", {})),
    )
