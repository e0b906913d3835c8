"""Fixtures for the review Lambda's tests: moto's tables, bucket and bus, and the real handler."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from iam_check.check import assert_allowed
from iam_check.recording import CallRecorder, record_calls
from moto import mock_aws
from review_iam import REVIEW_CODE, review_role_policy
from review_world import ACCOUNT, REGION, ReviewWorld, review_lambda_environment

from contracts.counter_environment import WITHOUT_XRAY_DAEMON
from lambdas.review import handler as review_handler


@dataclass
class FakeLambdaContext:
    """The fields of Lambda's context object that Powertools reads."""

    function_name: str = "binventory-test-review"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:binventory-test-review"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(autouse=True)
def review_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    """Every AWS call the review Lambda's code makes in a test must be one its synthesized role allows."""
    recorder = record_calls(monkeypatch, REVIEW_CODE)
    yield recorder
    if recorder.calls:
        assert_allowed(review_role_policy(), recorder.calls)


@pytest.fixture
def world(fake_aws_credentials: str) -> Iterator[ReviewWorld]:
    with mock_aws():
        yield ReviewWorld()


@pytest.fixture
def invoke(world: ReviewWorld, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The real handler with the construct's environment, cold-started for this test."""
    for name, value in {**review_lambda_environment(), **WITHOUT_XRAY_DAEMON}.items():
        monkeypatch.setenv(name, value)
    for cached in (review_handler.configuration, review_handler.service, review_handler.headers):
        cached.cache_clear()

    def call(event: dict[str, Any]) -> dict[str, Any]:
        return review_handler.lambda_handler(event, FakeLambdaContext())

    return call
