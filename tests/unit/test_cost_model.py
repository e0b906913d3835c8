"""The cost of a million photos: per service, serverless against real-time, and where they cross."""

from __future__ import annotations

import pytest

from binventory import cost_model
from binventory.cost_model import PRICES, Deployment, Measured

MEASURED = Measured(
    handler_ms_per_record=1.0, model_ms_per_image=20.0, flag_rate=0.2, metadata_json_share=0.0
)
DEPLOYMENT = Deployment(lambda_memory_mb=512, serverless_memory_mb=2048, realtime_usd_per_hour=0.115)


def _line(service: str) -> float:
    return next(
        line for line in cost_model.per_million(MEASURED, DEPLOYMENT) if line.service == service
    ).usd_per_million


def test_the_serverless_endpoint_bills_the_model_s_seconds_at_its_memory_and_the_bytes_it_moves() -> None:
    compute = 1e6 * 0.020 * 2.0 * PRICES["serverless_gb_second"].usd
    data = 1e6 * (MEASURED.photo_bytes + 1_000) / 1e9 * PRICES["serverless_data_gb"].usd

    assert _line("Serverless endpoint") == pytest.approx(compute + data)


def test_the_lambda_bills_its_own_work_and_the_wait_for_the_endpoint() -> None:
    seconds = (1.0 + 20.0 + MEASURED.aws_round_trips_ms) / 1000

    assert _line("Lambda compute") == pytest.approx(1e6 * seconds * 0.5 * PRICES["lambda_gb_second"].usd)
    assert _line("EventBridge") == pytest.approx(1e6 * 0.2 * PRICES["eventbridge_event"].usd)


def test_above_the_crossover_the_real_time_endpoint_costs_less_and_below_it_more() -> None:
    crossover = cost_model.crossover_photos_per_month(MEASURED, DEPLOYMENT)
    per_photo = _line("Serverless endpoint") / 1e6
    realtime = cost_model.realtime_usd_per_month(DEPLOYMENT)

    assert realtime == pytest.approx(730 * 0.115)
    assert per_photo * (crossover - 1) < realtime <= per_photo * crossover
    # a slower model makes serverless dearer per photo, so real-time pays off sooner
    slower = cost_model.crossover_photos_per_month(
        Measured(handler_ms_per_record=1.0, model_ms_per_image=40.0), DEPLOYMENT
    )
    assert slower < crossover
