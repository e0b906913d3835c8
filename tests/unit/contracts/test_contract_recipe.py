"""One recipe: train.py's defaults, SageMaker's job, `make demo`, `make model-abid` and the benchmark all
read contracts/recipe.json. The fixed ABID split has its own test (test_contract_fixed_split.py)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import train
from countnet.trainer import Hyperparameters

from binventory.local.demo import demo_training_flags
from binventory.local.recipe_training import plan_recipe_run
from binventory.training_jobs.execution_input import execution_input
from contracts.deployment_settings import HYPERPARAMETER_NAMES, load_settings_from_cdk_json
from contracts.fixed_split import SPLIT_FILE
from contracts.recipe import load_recipe

RECIPE = load_recipe()
# What the demo may change to train in a minute on synthetic images; nothing that changes the method.
DEMO_SPEED_KNOBS = {"image-size", "epochs", "lr", "workers"}


def _flag_values(flags: list[str]) -> dict[str, str]:
    return dict(zip(flags[::2], flags[1::2], strict=True))


def test_the_recipe_names_exactly_train_py_s_hyperparameters() -> None:
    dataclass_names = {field.name.replace("_", "-") for field in fields(Hyperparameters)}
    assert set(RECIPE.names) == dataclass_names == set(HYPERPARAMETER_NAMES)


def test_train_py_defaults_are_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SM_HPS", raising=False)
    args = train.parse_args(["--train", "data"])
    for name, value in RECIPE.hyperparameters.items():
        parsed = getattr(args, name.replace("-", "_"))
        assert str(parsed).lower() == str(value).lower(), name


def test_a_sagemaker_job_gets_the_recipe_unless_told_otherwise() -> None:
    document = execution_input(load_settings_from_cdk_json(), overrides={"epochs": "3"}, tune=False)
    assert document["hyperparameters"] == {**RECIPE.as_strings(), "epochs": "3"}


def test_the_demo_model_is_the_recipe_with_only_its_named_speed_knobs_changed() -> None:
    flags = _flag_values(demo_training_flags())
    changed = {name for name, value in RECIPE.as_strings().items() if flags[f"--{name}"] != value}
    assert changed <= DEMO_SPEED_KNOBS
    assert set(RECIPE.demo_overrides) <= DEMO_SPEED_KNOBS


def test_make_model_abid_runs_the_recipe_on_its_data_with_no_hyperparameter_flags(
    abid_dir: Path, tmp_path: Path
) -> None:
    if not (abid_dir.parent / "abid-224" / "labels.csv").is_file():
        pytest.skip("../shared/abid-224 is not beside this checkout; the recipe's data cannot be planned")
    run = plan_recipe_run(tmp_path / "model")
    hyperparameter_flags = {f"--{name}" for name in RECIPE.names} & set(run.command)
    assert hyperparameter_flags == set()  # train.py's defaults, i.e. the recipe
    assert str(SPLIT_FILE) in run.command
