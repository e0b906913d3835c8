"""The Lambda's Powertools logger, tracer and metrics: created once here and imported everywhere else."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from contracts.counter_environment import SERVICE_NAME
from contracts.inventory_schema import METRICS_NAMESPACE

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
