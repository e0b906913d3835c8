"""The counting Lambda's environment: its variable names, Powertools' service name, and the values set.

The counting stack deploys `counter_environment(...)`; the local pipeline, the tests and the handler
benchmark start the handler with the same function, and the Lambda reads the same names back at cold
start (`lambdas/counter/configuration.py`), so no side can name a variable the other does not read.
"""

from __future__ import annotations

from contracts.decision import DecisionCosts
from contracts.inventory_schema import METRICS_NAMESPACE

SERVICE_NAME = "binventory-counter"  # Powertools' service name: logs, traces and metrics
# What a run without an X-Ray daemon (this machine, the tests) adds: Powertools' tracer stays quiet.
WITHOUT_XRAY_DAEMON = {"POWERTOOLS_TRACE_DISABLED": "true"}


class LambdaEnv:
    """Names of the counting Lambda's environment variables (set by the stack, read at cold start)."""

    INVENTORY_TABLE = "INVENTORY_TABLE"
    BIN_STATE_TABLE = "BIN_STATE_TABLE"
    ENDPOINT_NAME = "ENDPOINT_NAME"
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    # The decision settings (contracts.decision.DecisionCosts), from cdk.json's counting.decision.
    WRONG_RECORD_RATE = "WRONG_RECORD_RATE"
    LOOK_COST = "LOOK_COST"
    MISSED_ERROR_COST = "MISSED_ERROR_COST"
    MAX_IMAGE_BYTES = "MAX_IMAGE_BYTES"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"


def counter_environment(
    *,
    inventory_table: str,
    bin_state_table: str,
    endpoint_name: str,
    event_bus_name: str,
    decision: DecisionCosts,
    max_image_bytes: int,
) -> dict[str, str]:
    """The counting Lambda's environment: what the stack deploys and what local runs and tests use."""
    environment = {
        LambdaEnv.INVENTORY_TABLE: inventory_table,
        LambdaEnv.BIN_STATE_TABLE: bin_state_table,
        LambdaEnv.ENDPOINT_NAME: endpoint_name,
        LambdaEnv.EVENT_BUS_NAME: event_bus_name,
        LambdaEnv.WRONG_RECORD_RATE: str(decision.wrong_record_rate),
        LambdaEnv.LOOK_COST: str(decision.look_cost),
        LambdaEnv.MISSED_ERROR_COST: str(decision.missed_error_cost),
        LambdaEnv.MAX_IMAGE_BYTES: str(max_image_bytes),
        LambdaEnv.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        LambdaEnv.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }
    return environment
