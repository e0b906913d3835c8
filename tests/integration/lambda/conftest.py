"""Fixtures for the counting Lambda's tests: moto for S3, SQS, DynamoDB and EventBridge, a fake endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from counter_iam import LAMBDA_CODE, counter_role_policy
from counter_world import (
    ACCOUNT,
    BIN_STATE_TABLE,
    ENDPOINT,
    EVENT_BUS,
    INVENTORY_TABLE,
    MAX_IMAGE_BYTES,
    REGION,
    CountingWorld,
    FakeEndpoint,
    Faults,
)
from iam_check.check import assert_allowed
from iam_check.recording import CallRecorder, record_calls
from moto import mock_aws

from contracts.counter_environment import WITHOUT_XRAY_DAEMON, counter_environment
from contracts.decision import DEFAULT_COSTS
from lambdas.counter import handler as counter_handler


@dataclass
class FakeLambdaContext:
    """The fields of Lambda's context object that Powertools reads."""

    function_name: str = "binventory-test-counter"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:binventory-test-counter"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/binventory-test-counter"
    log_stream_name: str = "2026/11/21/[$LATEST]0123456789abcdef"
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class FakeClock:
    """The monotonic clock the Lambda's deadline reads, moved on by tests instead of by waiting."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def lambda_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    """Every AWS call the Lambda's code makes in a test must be one its synthesized role allows."""
    recorder = record_calls(monkeypatch, LAMBDA_CODE)
    yield recorder
    if recorder.calls:
        assert_allowed(counter_role_policy(), recorder.calls)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Time for the Lambda's deadline and its endpoint retries' waits, which pass only when a test says."""
    fake = FakeClock()
    monkeypatch.setattr("lambdas.counter.deadline.monotonic", fake)
    monkeypatch.setattr("lambdas.counter.dal.endpoint_client.sleep", fake.advance)
    return fake


@pytest.fixture
def aws(fake_aws_credentials: str) -> Iterator[None]:
    """Fake credentials, one moto account, and a fresh default boto3 session for the handler's clients."""
    with mock_aws():
        boto3.setup_default_session(region_name=REGION)
        yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def world(aws: None) -> CountingWorld:
    return CountingWorld()


@pytest.fixture
def fake_endpoint(aws: None) -> FakeEndpoint:
    endpoint = FakeEndpoint()
    boto3.DEFAULT_SESSION.events.register("before-call.sagemaker-runtime.InvokeEndpoint", endpoint)
    return endpoint


@pytest.fixture
def faults(aws: None) -> Faults:
    injected = Faults()
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.TransactWriteItems", injected.dynamodb_write)
    boto3.DEFAULT_SESSION.events.register("before-call.events.PutEvents", injected.put_events)
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.BatchGetItem", injected.dynamodb_batch_read)
    return injected


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment the counting stack gives the function."""
    values = {
        **counter_environment(
            inventory_table=INVENTORY_TABLE,
            bin_state_table=BIN_STATE_TABLE,
            endpoint_name=ENDPOINT,
            event_bus_name=EVENT_BUS,
            decision=DEFAULT_COSTS,
            max_image_bytes=MAX_IMAGE_BYTES,
        ),
        **WITHOUT_XRAY_DAEMON,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def invoke(
    world: CountingWorld,
    fake_endpoint: FakeEndpoint,
    faults: Faults,
    lambda_environment: dict[str, str],
    lambda_context: FakeLambdaContext,
) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Call the deployed handler as Lambda does, in a fresh execution environment (a cold start)."""
    counter_handler.image_counter.cache_clear()

    def call(event: dict[str, Any]) -> dict[str, Any]:
        return counter_handler.lambda_handler(event, lambda_context)

    yield call
    counter_handler.image_counter.cache_clear()
