"""How the endpoint's answers are sorted: a prediction, an image the model refuses, or a transient error."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from counter_world import ENDPOINT, REGION, FakeEndpoint, jpeg_bytes, toolkit_error_body

from contracts.model_answer import MalformedPrediction
from lambdas.counter.dal.clients import ENDPOINT_CONNECT_TIMEOUT, ENDPOINT_READ_TIMEOUT, RuntimeClientPool
from lambdas.counter.dal.endpoint_client import MIN_ATTEMPT_SECONDS, EndpointClient, ImageRejected
from lambdas.counter.deadline import Deadline, OutOfTime


@pytest.fixture
def endpoint() -> tuple[EndpointClient, FakeEndpoint]:
    fake = FakeEndpoint()
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    session.events.register("before-call.sagemaker-runtime.InvokeEndpoint", fake)
    return EndpointClient(RuntimeClientPool(session), ENDPOINT), fake


def test_a_prediction_is_returned_as_json(endpoint: Any) -> None:
    counting, fake = endpoint
    fake.counts(jpeg_bytes(1), 4, 0.7)

    assert counting.predict(jpeg_bytes(1), "image/jpeg")["predicted_count"] == 4
    assert fake.calls == [(jpeg_bytes(1), "image/jpeg")]


@pytest.mark.parametrize("status", [400, 413, 415])
def test_a_4xx_from_the_model_rejects_the_image(endpoint: Any, status: int) -> None:
    counting, fake = endpoint
    fake.model_error(jpeg_bytes(1), status, "bad image")

    with pytest.raises(ImageRejected, match=rf"model rejected the image \({status}\): bad image"):
        counting.predict(jpeg_bytes(1), "image/jpeg")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "the body is not a readable JPEG or PNG image: cannot identify image file"),
        (415, "content type text/plain is not supported; send image/jpeg, image/png or application/x-image"),
    ],
)
def test_a_rejection_through_the_inference_toolkit_records_the_message_without_its_traceback(
    endpoint: Any, status: int, message: str
) -> None:
    # given the toolkit's body: the message, then "Traceback (most recent call last):" and its frames
    counting, fake = endpoint
    body = toolkit_error_body(message)
    assert "\nTraceback (most recent call last):\n  File " in body
    fake.model_error(jpeg_bytes(1), status, body)

    # when
    with pytest.raises(ImageRejected) as rejected:
        counting.predict(jpeg_bytes(1), "image/jpeg")

    # then
    assert rejected.value.reason == f"model rejected the image ({status}): {message}"


def test_a_rejection_without_a_message_names_the_status() -> None:
    # TorchServe answers a body over its size limit with 413 and an empty body, before any handler runs.
    fake = FakeEndpoint()
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    session.events.register("before-call.sagemaker-runtime.InvokeEndpoint", fake)
    fake.model_error(jpeg_bytes(1), 413, "")

    with pytest.raises(ImageRejected) as rejected:
        EndpointClient(RuntimeClientPool(session), ENDPOINT).predict(jpeg_bytes(1), "image/jpeg")

    assert rejected.value.reason == f"model rejected the image (413): {HTTPStatus(413).phrase}"


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_5xx_and_load_related_4xx_are_transient(endpoint: Any, status: int) -> None:
    counting, fake = endpoint
    fake.model_error(jpeg_bytes(1), status, "busy")

    with pytest.raises(ClientError) as raised:
        counting.predict(jpeg_bytes(1), "image/jpeg")
    assert not isinstance(raised.value, ImageRejected)


def test_a_model_that_is_not_ready_is_transient(endpoint: Any) -> None:
    counting, fake = endpoint
    fake.not_ready(jpeg_bytes(1))

    with pytest.raises(ClientError, match="ModelNotReadyException"):
        counting.predict(jpeg_bytes(1), "image/jpeg")


def test_a_non_json_answer_breaks_the_contract(endpoint: Any) -> None:
    counting, fake = endpoint
    fake.answers_with(jpeg_bytes(1), b"<html>oops</html>")

    with pytest.raises(MalformedPrediction, match="non-JSON"):
        counting.predict(jpeg_bytes(1), "image/jpeg")


def test_an_attempt_waits_for_the_endpoint_no_longer_than_the_deadline_allows(endpoint: Any) -> None:
    # given 30 s before the invocation's deadline, and a record of each client's timeouts
    counting, fake = endpoint
    fake.counts(jpeg_bytes(1), 4, 0.7)
    clients, timeouts = counting.clients, []

    def recording(seconds: float) -> Any:
        client = clients(seconds)
        timeouts.append((client.meta.config.connect_timeout, client.meta.config.read_timeout))
        return client

    counting.clients = recording

    # when
    counting.predict(jpeg_bytes(1), "image/jpeg", Deadline.in_seconds(30))

    # then connecting and reading together fit in the 30 s, and botocore adds no attempts of its own
    ((connect, read),) = timeouts
    assert connect + read <= 30
    assert clients(30).meta.config.retries["total_max_attempts"] == 1


def test_without_a_deadline_an_attempt_waits_as_long_as_sagemaker_may_take(endpoint: Any) -> None:
    counting, _ = endpoint

    client = counting.clients(float("inf"))

    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (
        ENDPOINT_CONNECT_TIMEOUT,
        ENDPOINT_READ_TIMEOUT,
    )
    assert ENDPOINT_READ_TIMEOUT > 60, "SageMaker's own 60 s invocation timeout answers first"


def test_with_too_little_time_left_the_endpoint_is_not_asked(endpoint: Any) -> None:
    counting, fake = endpoint
    fake.counts(jpeg_bytes(1), 4, 0.7)

    with pytest.raises(OutOfTime):
        counting.predict(jpeg_bytes(1), "image/jpeg", Deadline.in_seconds(MIN_ATTEMPT_SECONDS - 1))
    assert fake.calls == []


def test_throttling_is_retried_while_the_deadline_allows(endpoint: Any, clock: Any) -> None:
    counting, fake = endpoint
    fake.throttled(jpeg_bytes(1), times=2)
    fake.counts(jpeg_bytes(1), 4, 0.7)

    prediction = counting.predict(jpeg_bytes(1), "image/jpeg", Deadline.in_seconds(60))

    assert prediction["predicted_count"] == 4
    assert len(fake.calls) == 3


def test_a_retry_the_deadline_leaves_no_room_for_is_left_to_sqs(endpoint: Any, clock: Any) -> None:
    # given barely enough time for one attempt, which SageMaker throttles
    counting, fake = endpoint
    fake.throttled(jpeg_bytes(1), times=1)
    fake.counts(jpeg_bytes(1), 4, 0.7)

    # when / then: no second attempt that could outlast the invocation
    with pytest.raises(OutOfTime):
        counting.predict(jpeg_bytes(1), "image/jpeg", Deadline.in_seconds(MIN_ATTEMPT_SECONDS + 0.2))
    assert len(fake.calls) == 1
