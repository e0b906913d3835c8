"""The Lambda's Powertools logger, tracer and metrics: created once here and imported everywhere else."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

from contracts.counter_environment import SERVICE_NAME
from contracts.inventory_schema import METRICS_NAMESPACE

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

# The tracer logs a full traceback for every exception that leaves a traced method, once per failed record
# (an outage of 200 photos wrote megabytes). The handler logs each failure itself: one line with its reason,
# and the traceback the first time that error is seen. The exception still reaches the trace's metadata.
logging.getLogger("aws_lambda_powertools.tracing.tracer").setLevel(logging.CRITICAL)
