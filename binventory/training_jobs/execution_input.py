"""Build the training state machine's input (the contract in docs/ARCHITECTURE.md) from CLI choices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from contracts.deployment_settings import HYPERPARAMETER_NAMES, Settings
from contracts.recipe import load_recipe


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`("epochs=30", "lr=0.001")` -> `{"epochs": "30", "lr": "0.001"}`; values stay strings for SageMaker."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("_", "-")
        if not sep or not name or not value.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE, e.g. --hp epochs=30", param_hint="--hp")
        if name not in HYPERPARAMETER_NAMES:
            raise click.BadParameter(
                f"{name!r} is not a train.py hyperparameter; choose from: {', '.join(HYPERPARAMETER_NAMES)}",
                param_hint="--hp",
            )
        overrides[name] = value.strip()
    return overrides


def execution_input(
    settings: Settings,
    *,
    overrides: dict[str, str],
    tune: bool,
    max_jobs: int | None = None,
    max_parallel_jobs: int | None = None,
    manifest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document the state machine reads: static hyperparameters plus the tuning budget and ranges,
    and the manifest dataset to train on (`{"name", "input_mode"}`, and `"added_train": true` for a combined
    dataset's extra training channel), if any.

    The shipped recipe's hyperparameters (contracts/recipe.json) are overridden by `overrides`;
    when tuning, the tuned names are left out of the static values (SageMaker rejects a name that is
    both) and overriding one is refused.
    """
    tuned = set(settings.tuning.tuned_names)
    if tune and tuned & set(overrides):
        raise click.BadParameter(
            f"{', '.join(sorted(tuned & set(overrides)))} is tuned by --tune (its range is in cdk.json's "
            "binventory.tuning.ranges); drop the --hp or train without --tune.",
            param_hint="--hp",
        )
    hyperparameters = {**load_recipe().as_strings(), **overrides}
    if tune:
        hyperparameters = {name: value for name, value in hyperparameters.items() if name not in tuned}
    max_jobs = max_jobs or settings.tuning.max_jobs
    max_parallel_jobs = max_parallel_jobs or min(settings.tuning.max_parallel_jobs, max_jobs)
    if max_parallel_jobs > max_jobs:
        raise click.BadParameter(
            f"--max-parallel-jobs ({max_parallel_jobs}) cannot exceed --max-jobs ({max_jobs}).",
            param_hint="--max-parallel-jobs",
        )
    document: dict[str, Any] = {
        "hyperparameters": {name: str(value) for name, value in hyperparameters.items()},
        "tune": tune,
        "tuning": {
            "max_jobs": max_jobs,
            "max_parallel_jobs": max_parallel_jobs,
            "parameter_ranges": settings.tuning.parameter_ranges_api(),
        },
    }
    if manifest is not None:
        document["manifest"] = dict(manifest)
    return document


def execution_name(tune: bool, now: datetime) -> str:
    """`train-20261121-101500`; the pipeline names its job after it (`...-train`, `...-tune`)."""
    return f"{'tune' if tune else 'train'}-{now:%Y%m%d-%H%M%S}"
