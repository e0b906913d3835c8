"""The counting Lambda's world for tests: moto resources, real-shaped events and a fake endpoint.

moto 5.2.5 cannot answer `sagemaker-runtime.invoke_endpoint` with an image body (its request parser
decodes every body as UTF-8, and JPEG bytes are not), so the endpoint is answered in-process by
`FakeEndpoint`, a botocore `before-call` hook that also produces the model's 4xx/5xx errors.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import boto3
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from model_answers import prediction
from PIL import Image

from contracts import inventory_schema

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "binventory-test-ingest"
INVENTORY_TABLE = "binventory-test-inventory"
BIN_STATE_TABLE = "binventory-test-bin-state"
EVENT_BUS = "binventory-test-events"
ENDPOINT = "binventory-test-counter"
MAX_IMAGE_BYTES = 100_000


def jpeg_bytes(seed: int, size: int = 16) -> bytes:
    """A small, real JPEG whose bytes differ for every seed."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color=(seed % 256, (seed * 7) % 256, (seed * 13) % 256)).save(
        buffer, "JPEG"
    )
    return buffer.getvalue()


def png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color=(seed % 256, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def toolkit_error_body(message: str) -> str:
    """What SageMaker's inference toolkit answers a 4xx with: the message, a newline, then the traceback.

    Built the way `sagemaker_inference.transformer.Transformer.handle_error` builds it
    (`"{}\n{}".format(error.message, traceback.format_exc())`), here for a BadImageError raised from
    PIL's error, as model_code's input handling raises it.
    """

    class BadImageError(Exception):
        pass

    try:
        try:
            raise OSError("cannot identify image file <_io.BytesIO object at 0x7f3b2c1d8e50>")
        except OSError as error:
            raise BadImageError(f"400: {message}") from error
    except BadImageError:
        return f"{message}\n{traceback.format_exc()}"


@dataclass
class FakeEndpoint:
    """The SageMaker endpoint, answering per image: a prediction, a model error, or not ready."""

    answers: dict[bytes, Callable[[], tuple[AWSResponse, dict[str, Any]]]] = field(default_factory=dict)
    calls: list[tuple[bytes, str]] = field(default_factory=list)
    throttles: dict[bytes, int] = field(default_factory=dict)  # image -> throttled calls before its answer

    def counts(self, image: bytes, count: int, confidence: float, label: str | None = None) -> None:
        self.answers_with(image, json.dumps(prediction(count, confidence, label)).encode())

    def answers_with(self, image: bytes, payload: bytes) -> None:
        """A 200 response whose body is `payload`, whatever it holds."""
        assert image not in self.answers, "two test images have the same bytes: give them different seeds"
        self.answers[image] = lambda: _success(payload)

    def model_error(self, image: bytes, original_status: int, message: str = "cannot decode image") -> None:
        """The container answered `original_status`; SageMaker wraps it in a 424 ModelError."""
        body = {
            "ErrorCode": "CLIENT_ERROR_FROM_MODEL" if original_status < 500 else "SERVER_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{ENDPOINT}",
            "Message": f'Received error ({original_status}) from primary with message "{message}".',
            "OriginalMessage": message,
            "OriginalStatusCode": original_status,
        }
        self.answers[image] = lambda: _error(424, "ModelError", body)

    def throttled(self, image: bytes, times: int) -> None:
        """SageMaker throttles the first `times` calls with this image, then the image's answer comes."""
        self.throttles[image] = times

    def not_ready(self, image: bytes) -> None:
        self.answers[image] = lambda: _error(
            429, "ModelNotReadyException", {"Message": "model not loaded yet"}
        )

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = params["body"]
        self.calls.append((body, params["headers"].get("Content-Type", "")))
        if self.throttles.get(body):
            self.throttles[body] -= 1
            return _error(400, "ThrottlingException", {"message": "Rate exceeded"})
        if body not in self.answers:
            raise AssertionError("the fake endpoint was sent an image no test set an answer for")
        return self.answers[body]()


def _success(payload: bytes) -> tuple[AWSResponse, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    parsed = {
        "Body": StreamingBody(io.BytesIO(payload), len(payload)),
        "ContentType": "application/json",
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers, "RetryAttempts": 0},
    }
    return AWSResponse("https://runtime.sagemaker", 200, headers, None), parsed


def _error(status: int, error_type: str, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """Parse a raw error response as botocore's endpoint does (rest-json, plus the modeled error fields)."""
    service_model = boto3.session.Session().client("sagemaker-runtime", region_name=REGION).meta.service_model
    headers = HeadersDict({"Content-Type": "application/json", "x-amzn-ErrorType": error_type})
    response = {"status_code": status, "headers": headers, "body": json.dumps(body).encode()}
    parser = create_parser("rest-json")
    parsed = parser.parse(response, service_model.operation_model("InvokeEndpoint").output_shape)
    error_shape = service_model.shape_for_error_code(parsed["Error"]["Code"])
    parsed.update(parser.parse(response, error_shape))
    return AWSResponse("https://runtime.sagemaker", status, headers, None), parsed


@dataclass
class Faults:
    """Failures moto cannot produce, injected per call by botocore `before-call` hooks."""

    throttled_record_keys: set[str] = field(default_factory=set)
    refuse_events: bool = False
    fail_batch_reads: bool = False
    batch_read_error: tuple[str, int] | None = None  # (error code, HTTP status) every BatchGetItem gets

    def dynamodb_batch_read(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        code, status = self.batch_read_error or (
            ("InternalServerError", 500) if self.fail_batch_reads else ("", 0)
        )
        if not code:
            return None
        error = {
            "Error": {"Code": code, "Message": "batch read refused"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://dynamodb", status, {}, None), error

    def dynamodb_write(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = params["body"].decode() if isinstance(params["body"], bytes) else params["body"]
        if not any(json.dumps(key) in body for key in self.throttled_record_keys):
            return None
        error = {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "Rate of requests exceeds",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("https://dynamodb", 400, {}, None), error

    def put_events(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self.refuse_events:
            return None
        parsed = {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
        return AWSResponse("https://events", 200, {}, None), parsed


@dataclass(frozen=True)
class StoredVersion:
    """An object version put into the ingest bucket."""

    key: str
    version_id: str
    etag: str
    size: int


class CountingWorld:
    """The deployed world of the counting Lambda, in moto: bucket, tables, queues, event bus."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        events = boto3.client("events", region_name=REGION)

        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.ingest_queue_url = self.sqs.create_queue(QueueName="binventory-test-ingest")["QueueUrl"]
        self.ingest_queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:binventory-test-ingest"
        self.dynamodb.create_table(TableName=INVENTORY_TABLE, **inventory_schema.inventory_table_definition())
        self.dynamodb.create_table(TableName=BIN_STATE_TABLE, **inventory_schema.bin_state_table_definition())

        events.create_event_bus(Name=EVENT_BUS)
        self.alerts_queue_url = self.sqs.create_queue(QueueName="binventory-test-alerts")["QueueUrl"]
        events.put_rule(
            Name="alerts",
            EventBusName=EVENT_BUS,
            EventPattern=json.dumps({"source": [inventory_schema.EVENT_SOURCE]}),
        )
        events.put_targets(
            Rule="alerts",
            EventBusName=EVENT_BUS,
            Targets=[{"Id": "alerts", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:binventory-test-alerts"}],
        )

    # --- the bucket ----------------------------------------------------------------------------------
    def put_image(
        self,
        key: str,
        body: bytes,
        *,
        expected_quantity: str | None = None,
        content_type: str = "image/jpeg",
    ) -> StoredVersion:
        metadata = (
            {}
            if expected_quantity is None
            else {inventory_schema.EXPECTED_QUANTITY_METADATA_KEY: expected_quantity}
        )
        response = self.s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, ContentType=content_type, Metadata=metadata
        )
        return StoredVersion(key, response["VersionId"], response["ETag"].strip('"'), len(body))

    def put_document(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="application/json")

    def delete_version(self, version: StoredVersion) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=version.key, VersionId=version.version_id)

    # --- the bin state, as `binventory inventory load-expected` leaves it --------------------------------
    def expect(self, bin_id: str, quantity: int) -> None:
        self.dynamodb.Table(BIN_STATE_TABLE).put_item(
            Item={
                "bin_id": bin_id,
                "expected_quantity": quantity,
                "expected_updated_at": "2026-11-20T00:00:00.000000Z",
            }
        )

    # --- events in -----------------------------------------------------------------------------------
    def sqs_event(self, *bodies: str) -> dict[str, Any]:
        """Send the bodies through the ingest queue and shape what comes out as Lambda's SQS event."""
        sent = [
            self.sqs.send_message(QueueUrl=self.ingest_queue_url, MessageBody=b)["MessageId"] for b in bodies
        ]
        received: dict[str, dict[str, Any]] = {}
        while len(received) < len(sent):
            messages = self.sqs.receive_message(
                QueueUrl=self.ingest_queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            assert messages, "a sent message did not come back from the queue"
            received.update({m["MessageId"]: m for m in messages})
        return {
            "Records": [
                {
                    "messageId": message_id,
                    "receiptHandle": received[message_id]["ReceiptHandle"],
                    "body": received[message_id]["Body"],
                    "attributes": received[message_id]["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": received[message_id]["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.ingest_queue_arn,
                    "awsRegion": REGION,
                }
                for message_id in sent
            ]
        }

    # --- what the Lambda left behind ------------------------------------------------------------------
    def receive_all(self) -> list[dict[str, Any]]:
        """Every message waiting in the ingest queue (with its attributes), received and deleted."""
        found: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.ingest_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in messages:
                self.sqs.delete_message(
                    QueueUrl=self.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            found += messages
        return found

    def items(self) -> dict[str, dict[str, Any]]:
        """Every inventory item, by record key."""
        items = _scan(self.dynamodb.Table(INVENTORY_TABLE))
        return {item["record_key"]: item for item in items}

    def bin_states(self) -> dict[str, dict[str, Any]]:
        return {item["bin_id"]: item for item in _scan(self.dynamodb.Table(BIN_STATE_TABLE))}

    def alerts(self) -> list[dict[str, Any]]:
        """Events that reached the bus's subscriber queue (consumed)."""
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.alerts_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def s3_notification(
    version: StoredVersion, *, event_time: str = "2026-11-21T10:15:00.000Z", with_version_id: bool = True
) -> str:
    """The body S3 puts on the queue for one upload (AWS's documented event structure, version 2.1)."""
    stored = {
        "key": _url_encoded(version.key),
        "size": version.size,
        "eTag": version.etag,
        "sequencer": "0065A1B2C3",
    }
    if with_version_id:
        stored["versionId"] = version.version_id
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": event_time,
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                    "requestParameters": {"sourceIPAddress": "10.0.0.1"},
                    "responseElements": {
                        "x-amz-request-id": "C3D13FE58DE4C810",
                        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S",
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "binventory-uploads",
                        "bucket": {
                            "name": BUCKET,
                            "ownerIdentity": {"principalId": "A3NL1KOZZKEXAMPLE"},
                            "arn": f"arn:aws:s3:::{BUCKET}",
                        },
                        "object": stored,
                    },
                }
            ]
        }
    )


def s3_test_event() -> str:
    """What S3 sends once when a bucket notification is configured."""
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-11-21T10:00:00.000Z",
            "Bucket": BUCKET,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR",
        }
    )


def record_key_of(version: StoredVersion) -> str:
    return f"{BUCKET}/{version.key}#{version.version_id}"


def _url_encoded(key: str) -> str:
    return quote_plus(key, safe="/")


def _scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
