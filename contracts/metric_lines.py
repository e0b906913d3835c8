"""The one log-line format for training metrics, and the regexes SageMaker parses it with.

Training prints one line per epoch such as
    METRICS epoch=3 train_loss=1.2345 val_loss=1.3012 val_accuracy=0.4512 val_rmse=1.0213 ...
The training stack's metric definitions and the tuning objective are built from this module,
so the printed names and the parsed names cannot drift apart.
"""

from __future__ import annotations

LINE_PREFIX = "METRICS"
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

# (name in the log line, SageMaker metric name)
LOGGED_METRICS: tuple[tuple[str, str], ...] = (
    ("train_loss", "train:loss"),
    ("val_loss", "validation:loss"),
    ("val_accuracy", "validation:accuracy"),
    ("val_rmse", "validation:rmse"),
    ("val_mae", "validation:mae"),
    ("val_macro_f1", "validation:macro_f1"),
)

ACCURACY_METRIC = "validation:accuracy"
RMSE_METRIC = "validation:rmse"
OBJECTIVE_METRIC = ACCURACY_METRIC
# What `train status` and `model list` show for each run or published version.
SHOWN_METRICS: tuple[str, ...] = (ACCURACY_METRIC, RMSE_METRIC, "validation:mae", "validation:macro_f1")
OBJECTIVE_TYPE = "Maximize"


def format_metric_line(epoch: int, values: dict[str, float]) -> str:
    """Render one epoch's metrics in the parsed format; unknown names are rejected."""
    known = {name for name, _ in LOGGED_METRICS}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"metric names not in LOGGED_METRICS: {sorted(unknown)}")
    parts = [f"{name}={values[name]:.4f}" for name, _ in LOGGED_METRICS if name in values]
    return f"{LINE_PREFIX} epoch={epoch} " + " ".join(parts)


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker `MetricDefinitions` for the training job and the tuning job."""
    return [
        {"Name": sagemaker_name, "Regex": rf"{LINE_PREFIX} .*\b{logged}={_NUMBER}"}
        for logged, sagemaker_name in LOGGED_METRICS
    ]
