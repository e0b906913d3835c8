"""What counting a million photos costs, per service, with a serverless or a real-time endpoint.

A photo's path: the robot's S3 PUT, an S3 notification through SQS, the counting Lambda (its own work plus
the wait for the endpoint, billed by the millisecond at its memory), one or two S3 GETs, one InvokeEndpoint,
one DynamoDB transaction of two items, an EventBridge event when the photo is flagged. The usage per photo
comes from measured figures (`Measured`: bench/bench_costs.py measures them on this machine and writes them to
bench/RESULTS.md); the prices from a dated table (`PRICES`), on-demand us-east-1, with their sources.

A serverless endpoint bills the seconds it computes, at its memory size; a real-time endpoint bills its
instances by the hour whatever the traffic. So serverless costs a fixed amount per photo, real-time a fixed
amount per month: above `crossover_photos_per_month` the real-time endpoint is the cheaper one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES_AS_OF = "2026-12-07"
HOURS_PER_MONTH = 730  # AWS's pricing pages bill a month as 730 hours


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str


# On-demand list prices, us-east-1, as published on each service's pricing page (transcribed 2026-12-07 from
# the pages as last seen, not fetched live: confirm at the source before a budget decision). No free tiers.
PRICES = {
    "lambda_gb_second": Price(0.0000166667, "GB-second (x86)", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_request": Price(0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "sqs_request": Price(
        0.40 / 1e6, "request (standard queue, 64 KB chunk)", "https://aws.amazon.com/sqs/pricing/"
    ),
    "dynamodb_write_unit": Price(
        0.625 / 1e6, "write request unit (on-demand)", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "dynamodb_read_unit": Price(
        0.125 / 1e6, "read request unit (on-demand)", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "s3_put": Price(0.005 / 1000, "PUT request (Standard)", "https://aws.amazon.com/s3/pricing/"),
    "s3_get": Price(0.0004 / 1000, "GET request (Standard)", "https://aws.amazon.com/s3/pricing/"),
    "s3_gb_month": Price(0.023, "GB-month stored (Standard)", "https://aws.amazon.com/s3/pricing/"),
    "eventbridge_event": Price(1.00 / 1e6, "custom event", "https://aws.amazon.com/eventbridge/pricing/"),
    "serverless_gb_second": Price(
        0.00002, "GB-second of serverless inference", "https://aws.amazon.com/sagemaker/pricing/"
    ),
    "serverless_data_gb": Price(
        0.016, "GB processed in or out (serverless)", "https://aws.amazon.com/sagemaker/pricing/"
    ),
}


@dataclass(frozen=True)
class Measured:
    """Per-photo figures measured on this project's code (bench/bench_costs.py), and what is assumed."""

    handler_ms_per_record: float  # the Lambda's own work per record, AWS calls answered in-process
    model_ms_per_image: float  # countnet serving one photo (decode, prepare, predict, JSON)
    aws_round_trips_ms: float = (
        25.0  # assumed: GetObject, TransactWriteItems, InvokeEndpoint's network, in-region
    )
    photo_bytes: int = 60_000  # ABID photos are about 50-70 KB (the sample in ../shared/abid)
    metadata_json_share: float = 0.0  # share of photos with an ABID metadata JSON beside them (a second GET)
    flag_rate: float = 0.25  # share of photos flagged (an EventBridge event each)
    batch_size: int = 10  # SQS messages per Lambda invocation
    write_units_per_photo: int = 4  # one transaction of two items under 1 KB: 2 units each (transactional)
    read_units_per_batch: float = 2.0  # one BatchGetItem of a batch's bins and record keys


@dataclass(frozen=True)
class Deployment:
    """The settings that decide the bill (cdk.json's counting and endpoint sections)."""

    lambda_memory_mb: int = 512
    serverless_memory_mb: int = 3072
    realtime_instance_type: str = "ml.m5.large"
    realtime_instances: int = 1
    realtime_usd_per_hour: float = 0.115  # ml.m5.large (binventory/costs.py HOSTING_HOURLY_USD)


@dataclass(frozen=True)
class Line:
    service: str
    usage: str
    usd_per_million: float


def per_million(measured: Measured, deployment: Deployment) -> list[Line]:
    """The cost of 1,000,000 photos, per service, with a serverless endpoint (no real-time instances)."""
    n = 1_000_000
    lambda_seconds = (
        measured.handler_ms_per_record + measured.model_ms_per_image + measured.aws_round_trips_ms
    ) / 1000
    lambda_gb_s = lambda_seconds * deployment.lambda_memory_mb / 1024
    invocations = n / measured.batch_size
    # S3 -> SQS send, the event source's receive and delete, per batch of messages.
    sqs_requests = n + 2 * invocations
    s3_gets = 1 + measured.metadata_json_share
    serverless_gb_s = measured.model_ms_per_image / 1000 * deployment.serverless_memory_mb / 1024
    response_bytes = 1_000
    return [
        Line(
            "Lambda compute",
            f"{lambda_seconds * 1000:.1f} ms x {deployment.lambda_memory_mb} MB per photo",
            n * lambda_gb_s * PRICES["lambda_gb_second"].usd,
        ),
        Line(
            "Lambda requests",
            f"1 invocation per {measured.batch_size} photos",
            invocations * PRICES["lambda_request"].usd,
        ),
        Line("SQS", f"{sqs_requests / n:.2f} requests per photo", sqs_requests * PRICES["sqs_request"].usd),
        Line(
            "DynamoDB",
            f"{measured.write_units_per_photo} write units per photo, "
            f"{measured.read_units_per_batch:g} read units per batch",
            n * measured.write_units_per_photo * PRICES["dynamodb_write_unit"].usd
            + invocations * measured.read_units_per_batch * PRICES["dynamodb_read_unit"].usd,
        ),
        Line(
            "S3 requests",
            f"1 PUT (the upload), {s3_gets:g} GET per photo",
            n * (PRICES["s3_put"].usd + s3_gets * PRICES["s3_get"].usd),
        ),
        Line(
            "S3 storage",
            f"{measured.photo_bytes / 1e3:.0f} KB per photo, one month",
            n * measured.photo_bytes / 1e9 * PRICES["s3_gb_month"].usd,
        ),
        Line(
            "EventBridge",
            f"{measured.flag_rate:.0%} of photos flagged, one event each",
            n * measured.flag_rate * PRICES["eventbridge_event"].usd,
        ),
        Line(
            "Serverless endpoint",
            f"{measured.model_ms_per_image:.1f} ms x {deployment.serverless_memory_mb} MB "
            "per photo, plus data in and out",
            n * serverless_gb_s * PRICES["serverless_gb_second"].usd
            + n * (measured.photo_bytes + response_bytes) / 1e9 * PRICES["serverless_data_gb"].usd,
        ),
    ]


def realtime_usd_per_month(deployment: Deployment) -> float:
    return deployment.realtime_instances * HOURS_PER_MONTH * deployment.realtime_usd_per_hour


def realtime_capacity_per_month(measured: Measured, deployment: Deployment) -> float:
    """Photos a month the real-time instances could count, one photo at a time per vCPU pair."""
    return deployment.realtime_instances * HOURS_PER_MONTH * 3600 * 1000 / measured.model_ms_per_image


def crossover_photos_per_month(measured: Measured, deployment: Deployment) -> int:
    """The monthly volume above which the real-time endpoint costs less than the serverless one."""
    serverless = next(
        line for line in per_million(measured, deployment) if line.service == "Serverless endpoint"
    )
    per_photo = serverless.usd_per_million / 1_000_000
    return math.ceil(realtime_usd_per_month(deployment) / per_photo)


# Measured on this project's code by bench/bench_costs.py on a 2-core AMD EPYC (2026-12-07; its section of
# bench/RESULTS.md has the run): the handler at batch 10 with every AWS call answered in-process, and the
# packaged lite0 model through countnet.serving on 2 threads (a 3 GB serverless endpoint gets about 2 vCPUs,
# if it is provisioned as Lambda is: 1 vCPU per 1,769 MB; AWS does not publish serverless inference's ratio).
MEASURED = Measured(handler_ms_per_record=2.45, model_ms_per_image=10.61)
