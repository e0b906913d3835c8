"""Training metrics: the line train.py prints each epoch is what the SageMaker regexes parse, and the names
they parse it into are the ones tuning optimises and the CLI shows and gates on.

The training stack puts `metric_definitions()` and the objective into every training and tuning job
(tests/infrastructure/stacks/test_stacks_training.py: `test_jobs_parse_the_metrics_train_py_prints_...`
and `test_tuning_is_bayesian_on_the_logged_objective_...`); a real training run's lines are parsed in
tests/integration/model/test_model_training.py.
"""

from __future__ import annotations

import re

import pytest
from countnet.labels import LabelSpace
from countnet.metrics import evaluate_predictions
from countnet.trainer import Trainer

from binventory.models import commands as model_commands
from binventory.models import gate
from binventory.training_jobs import commands as train_commands
from contracts.metric_lines import OBJECTIVE_METRIC, format_metric_line, metric_definitions

SAGEMAKER_NAMES = {definition["Name"] for definition in metric_definitions()}


def parse_like_sagemaker(line: str) -> dict[str, float]:
    """SageMaker metric name -> value, for every definition whose regex finds a value in `line`."""
    parsed = {}
    for definition in metric_definitions():
        match = re.search(definition["Regex"], line)
        if match:
            parsed[definition["Name"]] = float(match.group(1))
    return parsed


def test_every_figure_train_py_prints_for_an_epoch_is_parsed_back() -> None:
    # given one epoch's validation figures, as the trainer computes and prints them
    evaluation = evaluate_predictions([1, 1, 2, 3, 3, 3], [1, 2, 2, 3, 3, 1], LabelSpace(max_count=3))
    values = Trainer._metric_values(train_loss=1.25, val_loss=1.5, evaluation=evaluation)

    # when SageMaker reads the printed line with the job's regexes
    parsed = parse_like_sagemaker(format_metric_line(7, values))

    # then every regex finds its figure, to the four places printed
    assert parsed == pytest.approx(
        {
            "train:loss": 1.25,
            "validation:loss": 1.5,
            "validation:accuracy": evaluation["accuracy"],
            "validation:rmse": evaluation["rmse"],
            "validation:mae": evaluation["mae"],
            "validation:macro_f1": evaluation["macro_f1"],
        },
        abs=5e-5,
    )


def test_tuning_optimises_a_metric_the_jobs_parse() -> None:
    assert OBJECTIVE_METRIC in SAGEMAKER_NAMES


@pytest.mark.parametrize(
    ("reader", "names"),
    [
        ("binventory train status", train_commands.SHOWN_METRICS),
        ("binventory model list", model_commands.SHOWN_METRICS),
        ("binventory model promote's gate", (gate.ACCURACY, gate.RMSE)),
    ],
)
def test_the_cli_shows_and_gates_on_metrics_the_jobs_parse(reader: str, names: tuple[str, ...]) -> None:
    # a name no regex produces would show "-" for every run, or fail every model at the gate
    assert set(names) <= SAGEMAKER_NAMES, reader
