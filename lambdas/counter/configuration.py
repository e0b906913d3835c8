"""The counting Lambda's configuration, read and validated once from its environment variables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from contracts.counter_environment import LambdaEnv
from contracts.decision import DecisionCosts

# Real-time endpoints take request bodies up to 6 MB (serverless endpoints: 4 MB).
DEFAULT_MAX_IMAGE_BYTES = 6_000_000


class ConfigurationError(ValueError):
    """One or more environment variables are missing or hold values the Lambda cannot use."""


@dataclass(frozen=True)
class CounterConfiguration:
    """Everything the Lambda is configured with; built by `load_configuration`."""

    inventory_table: str
    bin_state_table: str
    endpoint_name: str
    event_bus_name: str
    decision: DecisionCosts
    max_image_bytes: int


def load_configuration(environ: Mapping[str, str]) -> CounterConfiguration:
    """Validate the environment; raise one ConfigurationError naming every bad variable."""
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set (the counting stack sets it; set it to run the handler)")
        return value

    def number(name: str, low: float, high: float, example: str) -> float:
        """A required number strictly between `low` and `high`; NaN (and a problem) when it is not."""
        raw = required(name)
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if raw and not low < value < high:
            bounds = f"above {low:g}" if math.isinf(high) else f"between {low:g} and {high:g}"
            problems.append(f"{name}={raw!r} is not a number {bounds} (for example {example})")
        return value if low < value < high else math.nan

    def positive_int(name: str, default: int) -> int:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) == 0:
            problems.append(f"{name}={raw!r} is not a positive whole number of bytes (for example 6000000)")
            return default
        return int(raw)

    tables = {
        "inventory_table": required(LambdaEnv.INVENTORY_TABLE),
        "bin_state_table": required(LambdaEnv.BIN_STATE_TABLE),
        "endpoint_name": required(LambdaEnv.ENDPOINT_NAME),
        "event_bus_name": required(LambdaEnv.EVENT_BUS_NAME),
    }
    rate = number(LambdaEnv.WRONG_RECORD_RATE, 0.0, 1.0, "0.02")
    look = number(LambdaEnv.LOOK_COST, 0.0, math.inf, "0.30")
    missed = number(LambdaEnv.MISSED_ERROR_COST, 0.0, math.inf, "22")
    max_image_bytes = positive_int(LambdaEnv.MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_BYTES)
    if problems:
        raise ConfigurationError("Invalid counting Lambda configuration: " + "; ".join(problems))
    return CounterConfiguration(
        **tables,
        decision=DecisionCosts(wrong_record_rate=rate, look_cost=look, missed_error_cost=missed),
        max_image_bytes=max_image_bytes,
    )
