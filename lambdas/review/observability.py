"""The review Lambda's Powertools logger, tracer and metrics: created once here, imported elsewhere."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from contracts.inventory_schema import METRICS_NAMESPACE
from contracts.review_environment import SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
