"""The counting Lambda's configuration, read and validated once from its environment variables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from contracts.counter_environment import LambdaEnv

DEFAULT_CONFIDENCE_THRESHOLD = 0.5
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
    confidence_threshold: float
    max_image_bytes: int
    mismatch_below: float | None = None  # None: each model's own calibrated threshold


def load_configuration(environ: Mapping[str, str]) -> CounterConfiguration:
    """Validate the environment; raise one ConfigurationError naming every bad variable."""
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set (the counting stack sets it; set it to run the handler)")
        return value

    def fraction(name: str, default: float | None) -> float | None:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name}={raw!r} is not a number between 0 and 1 (for example 0.5)")
            return default
        return value

    def positive_int(name: str, default: int) -> int:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) == 0:
            problems.append(f"{name}={raw!r} is not a positive whole number of bytes (for example 6000000)")
            return default
        return int(raw)

    configuration = CounterConfiguration(
        inventory_table=required(LambdaEnv.INVENTORY_TABLE),
        bin_state_table=required(LambdaEnv.BIN_STATE_TABLE),
        endpoint_name=required(LambdaEnv.ENDPOINT_NAME),
        event_bus_name=required(LambdaEnv.EVENT_BUS_NAME),
        confidence_threshold=fraction(LambdaEnv.CONFIDENCE_THRESHOLD, DEFAULT_CONFIDENCE_THRESHOLD),
        max_image_bytes=positive_int(LambdaEnv.MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_BYTES),
        mismatch_below=fraction(LambdaEnv.MISMATCH_BELOW, None),
    )
    if problems:
        raise ConfigurationError("Invalid counting Lambda configuration: " + "; ".join(problems))
    return configuration
