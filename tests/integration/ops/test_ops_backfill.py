"""`binventory count backfill`: transform answers (emulated in moto) recorded as the Lambda records them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from model_answers import prediction
from sagemaker_resources import create_endpoint

from contracts import stack_outputs
from contracts.deployment_settings import load_settings_from_cdk_json
from contracts.inventory_schema import (
    bin_state_table_definition,
    format_timestamp,
    inventory_table_definition,
)
from lambdas.counter.configuration import CounterConfiguration
from lambdas.counter.dal.events import EventPublisher
from lambdas.counter.dal.images import ImageStore
from lambdas.counter.dal.inventory import InventoryRepository
from lambdas.counter.deadline import NO_DEADLINE, Deadline
from lambdas.counter.logic.notifications import UploadedObject
from lambdas.counter.service import ImageCounter

JPEG, PNG = b"\xff\xd8\xff\xe0fake-jpeg", b"\x89PNG\r\n\x1a\nfake-png"
ENDPOINT = "binventory-dev-counter"
SERVED_PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-dev-countnet/2"
TRANSFORM_ROLE = "arn:aws:iam::123456789012:role/binventory-transform"


# key -> (body, object metadata, model answer, status the Lambda's rules give)
IMAGES: dict[str, tuple[bytes, dict[str, str], dict[str, Any] | None, str]] = {
    "bin-images/00001.jpg": (JPEG + b"1", {}, prediction(3, 0.9), "MATCH"),  # metadata/00001.json says 3
    "bin-images/01013.jpg": (JPEG + b"2", {}, prediction(4, 0.999), "MISMATCH"),  # metadata/01013.json: 2
    "incoming/bin-7/a.jpg": (JPEG + b"3", {"expected-quantity": "5"}, prediction(4, 0.9), "LOW_CONFIDENCE"),
    "incoming/bin-8/b.png": (PNG, {}, prediction(1, 0.95), "NO_EXPECTATION"),
    "incoming/bin-9/notes.jpg": (b"not an image", {}, None, "INVALID_IMAGE"),  # never sent to the model
}
METADATA = {"metadata/00001.json": 3, "metadata/01013.json": 2}


def create_tables(dynamodb: Any, prefix: str) -> tuple[str, str]:
    dynamodb.create_table(TableName=f"{prefix}-inventory", **inventory_table_definition())
    dynamodb.create_table(TableName=f"{prefix}-bin-state", **bin_state_table_definition())
    return f"{prefix}-inventory", f"{prefix}-bin-state"


def recorded(dynamodb: Any, table: str) -> dict[str, tuple[Any, ...]]:
    """image key -> what a person reads in the record."""
    items = dynamodb.scan(TableName=table)["Items"]
    fields = (
        "status",
        "predicted_count",
        "expected_quantity",
        "expected_source",
        "delta",
        "record_key",
        "captured_at",
    )
    return {
        item["image_key"]["S"]: tuple(
            next(iter(item[f].values()), None) if f in item else None for f in fields
        )
        for item in items
    }


@pytest.fixture
def ingest(aws: None, set_stack_outputs: Any, transform_answers: dict[str, Any]) -> Any:
    """An ingest bucket of bin images, the tables, the bus and the endpoint's model, all in moto."""
    s3 = boto3.client("s3")
    for bucket in ("ingest", "artifacts"):
        s3.create_bucket(Bucket=bucket)
        # versioned, as the storage stack deploys them: the backfill lists object versions
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key, (body, metadata, model_answer, _) in IMAGES.items():
        s3.put_object(Bucket="ingest", Key=key, Body=body, Metadata=metadata)
        if model_answer is not None:
            transform_answers[key] = model_answer
    for key, quantity in METADATA.items():
        s3.put_object(Bucket="ingest", Key=key, Body=json.dumps({"EXPECTED_QUANTITY": quantity}).encode())
    create_endpoint(
        boto3.client("sagemaker"),
        ENDPOINT,
        {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        container={"ModelPackageName": SERVED_PACKAGE},
    )
    boto3.client("events").create_event_bus(Name="bus")
    inventory, bin_state = create_tables(boto3.client("dynamodb"), "backfill")
    set_stack_outputs(
        **{
            stack_outputs.INVENTORY_TABLE_NAME: inventory,
            stack_outputs.BIN_STATE_TABLE_NAME: bin_state,
            stack_outputs.ENDPOINT_NAME: ENDPOINT,
            stack_outputs.EVENT_BUS_NAME: "bus",
            stack_outputs.ARTIFACTS_BUCKET_NAME: "artifacts",
            stack_outputs.INGEST_BUCKET_NAME: "ingest",
            stack_outputs.TRANSFORM_ROLE_ARN: TRANSFORM_ROLE,
        }
    )
    return s3


class EndpointAnsweringByImage:
    """The endpoint's answer for each image's bytes (moto's sagemaker-runtime cannot take binary bodies)."""

    def predict(self, image: bytes, content_type: str, deadline: Deadline = NO_DEADLINE) -> dict[str, Any]:
        return next(spec[2] for spec in IMAGES.values() if spec[0] == image)


def count_as_the_lambda_does(s3: Any) -> dict[str, tuple[Any, ...]]:
    """Each image through the Lambda's service, as its notification would arrive, into tables of its own."""
    dynamodb = boto3.client("dynamodb")
    inventory, bin_state = create_tables(dynamodb, "lambda")
    configuration = CounterConfiguration(
        inventory_table=inventory,
        bin_state_table=bin_state,
        endpoint_name=ENDPOINT,
        event_bus_name="bus",
        decision=load_settings_from_cdk_json().counting.decision,
        max_image_bytes=load_settings_from_cdk_json().counting.max_image_bytes,
    )
    counter = ImageCounter(
        images=ImageStore(s3),
        endpoint=EndpointAnsweringByImage(),
        configuration=configuration,
        inventory=InventoryRepository(dynamodb, inventory_table=inventory, bin_state_table=bin_state),
        events=EventPublisher(boto3.client("events"), "bus"),
    )
    for key in IMAGES:
        head = s3.head_object(Bucket="ingest", Key=key)
        counter.count(
            UploadedObject(
                bucket="ingest",
                key=key,
                version_id=head["VersionId"],
                etag=head["ETag"].strip('"'),
                event_time=format_timestamp(head["LastModified"]),
            )
        )
    return recorded(dynamodb, inventory)


def test_backfill_records_each_image_with_the_status_the_lambda_gives(ingest: Any, invoke: Any) -> None:
    # when the whole bucket is backfilled, then backfilled again
    first = invoke("count", "backfill", "s3://ingest/")
    again = invoke("count", "backfill", "s3://ingest/")

    # then every bin image has one record, with the status the reconciliation rules give
    assert first.exit_code == 0, first.output
    assert "4 sent to transform job" in first.output
    by_key = recorded(boto3.client("dynamodb"), "backfill-inventory")
    assert {key: row[0] for key, row in by_key.items()} == {key: spec[3] for key, spec in IMAGES.items()}
    # and exactly what the Lambda's own path records for the same images and answers
    assert by_key == count_as_the_lambda_does(ingest)
    # and a re-run writes nothing twice
    assert again.exit_code == 0, again.output
    assert f"already recorded before: {len(IMAGES)}" in again.output


def test_the_transform_job_runs_the_served_package_with_the_transform_role(
    ingest: Any, invoke: Any, cli_calls: Any
) -> None:
    # when the bucket is backfilled
    assert invoke("count", "backfill", "s3://ingest/").exit_code == 0

    # then the job's model is the served package, run with the transform role and network-isolated, and
    # it is removed once the answers are read
    (create,) = [call.params for call in cli_calls.calls if call.operation == "CreateModel"]
    assert create["PrimaryContainer"] == {"ModelPackageName": SERVED_PACKAGE}
    assert create["ExecutionRoleArn"] == TRANSFORM_ROLE and create["EnableNetworkIsolation"] is True
    (job,) = [call.params for call in cli_calls.calls if call.operation == "CreateTransformJob"]
    assert job["ModelName"] == create["ModelName"]
    assert [call.params for call in cli_calls.calls if call.operation == "DeleteModel"] == [
        {"ModelName": create["ModelName"]}
    ]
