"""The counting Lambda's environment: what the stack (and every local run) sets is what the Lambda reads."""

from __future__ import annotations

from typing import Any

from contracts.counter_environment import SERVICE_NAME, LambdaEnv, counter_environment
from contracts.decision import DecisionCosts
from contracts.inventory_schema import METRICS_NAMESPACE
from lambdas.counter.configuration import CounterConfiguration, load_configuration
from lambdas.counter.observability import logger, metrics

COSTS = DecisionCosts(wrong_record_rate=0.035, look_cost=0.45, missed_error_cost=31.5)


def environment() -> dict[str, str]:
    return counter_environment(
        inventory_table="inventory",
        bin_state_table="bin-state",
        endpoint_name="binventory-dev-counter",
        event_bus_name="events",
        decision=COSTS,
        max_image_bytes=123_456,
    )


class ReadRecorder(dict[str, str]):
    """An environment that notes every variable read from it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return super().get(name, default)


def test_the_lambda_reads_back_every_value_the_environment_sets() -> None:
    assert load_configuration(environment()) == CounterConfiguration(
        inventory_table="inventory",
        bin_state_table="bin-state",
        endpoint_name="binventory-dev-counter",
        event_bus_name="events",
        decision=COSTS,
        max_image_bytes=123_456,
    )


def test_the_lambda_reads_only_variables_the_environment_names_and_powertools_reads_the_rest() -> None:
    values = ReadRecorder(environment())

    load_configuration(values)

    assert values.read <= set(values)
    assert set(values) - values.read == {
        LambdaEnv.POWERTOOLS_SERVICE_NAME,
        LambdaEnv.POWERTOOLS_METRICS_NAMESPACE,
    }
    # and those name the service and namespace the Lambda's own Powertools objects use
    assert values[LambdaEnv.POWERTOOLS_SERVICE_NAME] == SERVICE_NAME == logger.service
    assert values[LambdaEnv.POWERTOOLS_METRICS_NAMESPACE] == METRICS_NAMESPACE == metrics.namespace
