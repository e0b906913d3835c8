"""How the endpoint's answers are sorted: a prediction, an image the model refuses, or a transient error."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from counter_world import REGION, FakeEndpoint, jpeg_bytes, toolkit_error_body

from lambdas.counter.dal.endpoint import CountingEndpoint, ImageRejected
from lambdas.counter.logic.reconcile import MalformedPrediction


@pytest.fixture
def endpoint() -> tuple[CountingEndpoint, FakeEndpoint]:
    fake = FakeEndpoint()
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    session.events.register("before-call.sagemaker-runtime.InvokeEndpoint", fake)
    return CountingEndpoint(session.client("sagemaker-runtime"), "counter"), fake


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
        CountingEndpoint(session.client("sagemaker-runtime"), "counter").predict(jpeg_bytes(1), "image/jpeg")

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
