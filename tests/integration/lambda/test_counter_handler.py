"""The whole counting path under moto: SQS event in, inventory items, bin state, events and retries out."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from counter_world import (
    BUCKET,
    MAX_IMAGE_BYTES,
    CountingWorld,
    FakeEndpoint,
    Faults,
    jpeg_bytes,
    png_bytes,
    record_key_of,
    s3_notification,
    s3_test_event,
    toolkit_error_body,
)

from contracts import inventory_schema
from contracts.counter_environment import LambdaEnv
from lambdas.counter.logic.deferral import MAX_DEFERRALS


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum the counts in the CloudWatch embedded-metric lines Powertools printed."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                name = definition["Name"]
                values = blob[name] if isinstance(blob[name], list) else [blob[name]]
                totals[name] = totals.get(name, 0) + sum(values)
    return totals


@pytest.fixture
def mixed_batch(world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults) -> dict[str, Any]:
    """One batch with every kind of message the queue can hold, and what each should become."""
    images = {
        name: jpeg_bytes(seed)
        for seed, name in enumerate(
            [
                "good",
                "no_expectation",
                "bad_metadata",
                "rejected",
                "server_error",
                "throttled",
                "gone",
                "from_bin_state",
                "unsure",
                "not_ready",
                "png",
            ],
            start=1,
        )
    }
    good = world.put_image("incoming/B-100/shelf.jpg", images["good"], expected_quantity="3")
    fake_endpoint.counts(images["good"], 3, 0.91)
    not_an_image = world.put_image("incoming/B-101/notes.jpg", b"%PDF-1.7 a scanned delivery note")
    empty = world.put_image("incoming/B-102/empty.jpg", b"")
    too_big = world.put_image("incoming/B-103/huge.jpg", b"\xff\xd8\xff" + b"\0" * MAX_IMAGE_BYTES)
    no_expectation = world.put_image("incoming/B-104/a.jpg", images["no_expectation"])
    fake_endpoint.counts(images["no_expectation"], 2, 0.8)
    bad_metadata = world.put_image("bin-images/00042.jpg", images["bad_metadata"], expected_quantity="5")
    world.put_document("metadata/00042.json", b"{EXPECTED_QUANTITY: 5")
    fake_endpoint.counts(images["bad_metadata"], 7, 0.7)
    rejected = world.put_image("incoming/B-105/blurred.jpg", images["rejected"])
    fake_endpoint.model_error(images["rejected"], 400, "image cannot be decoded")
    server_error = world.put_image("incoming/B-106/b.jpg", images["server_error"])
    fake_endpoint.model_error(images["server_error"], 500, "CUDA out of memory")
    throttled = world.put_image("incoming/B-107/c.jpg", images["throttled"], expected_quantity="1")
    fake_endpoint.counts(images["throttled"], 1, 0.9)
    faults.throttled_record_keys.add(record_key_of(throttled))
    gone = world.put_image("incoming/B-108/gone.jpg", images["gone"])
    world.delete_version(gone)
    world.expect("B-109", 4)
    from_bin_state = world.put_image("incoming/B-109/d.jpg", images["from_bin_state"])
    fake_endpoint.counts(images["from_bin_state"], 4, 0.66)
    unsure = world.put_image("incoming/B-110/e.jpg", images["unsure"], expected_quantity="2")
    fake_endpoint.counts(images["unsure"], 2, 0.2)
    not_ready = world.put_image("incoming/B-111/f.jpg", images["not_ready"])
    fake_endpoint.not_ready(images["not_ready"])
    png = world.put_image(
        "incoming/B-112/g.png", png_bytes(1), expected_quantity="0", content_type="binary/octet-stream"
    )
    fake_endpoint.counts(png_bytes(1), 0, 0.99)
    loose = world.put_image("incoming/loose.jpg", jpeg_bytes(99))

    bodies = {
        "good": s3_notification(good),
        "duplicate": s3_notification(good),  # S3 delivered the same upload twice
        "not_an_image": s3_notification(not_an_image),
        "empty": s3_notification(empty),
        "too_big": s3_notification(too_big),
        "no_expectation": s3_notification(no_expectation),
        "bad_metadata": s3_notification(bad_metadata),
        "rejected": s3_notification(rejected),
        "server_error": s3_notification(server_error),
        "throttled": s3_notification(throttled),
        "gone": s3_notification(gone),
        "test_event": s3_test_event(),
        "from_bin_state": s3_notification(from_bin_state),
        "unsure": s3_notification(unsure),
        "not_ready": s3_notification(not_ready),
        "png": s3_notification(png),
        "poison": "this is not an S3 notification",
        "loose": s3_notification(loose),
    }
    event = world.sqs_event(*bodies.values())
    message_ids = dict(zip(bodies, (r["messageId"] for r in event["Records"]), strict=True))
    return {
        "event": event,
        "ids": message_ids,
        "keys": {
            name: record_key_of(version)
            for name, version in {
                "good": good,
                "not_an_image": not_an_image,
                "empty": empty,
                "too_big": too_big,
                "no_expectation": no_expectation,
                "bad_metadata": bad_metadata,
                "rejected": rejected,
                "gone": gone,
                "from_bin_state": from_bin_state,
                "unsure": unsure,
                "png": png,
            }.items()
        },
    }


def test_mixed_batch_records_each_image_once_and_retries_only_transient_failures(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, mixed_batch: dict[str, Any], capsys: Any
) -> None:
    # given a batch of 18 messages of every kind (see mixed_batch)
    ids, keys = mixed_batch["ids"], mixed_batch["keys"]

    # when the Lambda processes it
    response = invoke(mixed_batch["event"])

    # then exactly the transient failures and the messages nobody can act on come back for a retry
    assert failed_ids(response) == {
        ids[n] for n in ("server_error", "throttled", "not_ready", "poison", "loose")
    }
    # and every other upload is recorded exactly once, with the right status
    items = world.items()
    assert {key: items[key]["status"] for key in items} == {
        keys["good"]: "MATCH",
        keys["not_an_image"]: "INVALID_IMAGE",
        keys["empty"]: "INVALID_IMAGE",
        keys["too_big"]: "INVALID_IMAGE",
        keys["no_expectation"]: "NO_EXPECTATION",
        keys["bad_metadata"]: "MISMATCH",
        keys["rejected"]: "INVALID_IMAGE",
        keys["gone"]: "OBJECT_MISSING",
        keys["from_bin_state"]: "MATCH",
        keys["unsure"]: "LOW_CONFIDENCE",
        keys["png"]: "MATCH",
    }
    # and nothing is silently dropped: 18 messages = 11 records + 1 duplicate + 1 test event + 5 failures
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics[inventory_schema.CounterMetric.RECORDS_WRITTEN] == 11
    assert metrics[inventory_schema.CounterMetric.DUPLICATE_DELIVERIES] == 1
    assert metrics[inventory_schema.CounterMetric.TEST_EVENTS] == 1
    assert metrics[inventory_schema.CounterMetric.FAILED_MESSAGES] == 5


def test_each_reconciled_record_adds_its_flag_p_expected_and_delta_to_the_drift_metrics(
    invoke: Any, world: CountingWorld, mixed_batch: dict[str, Any], capsys: Any
) -> None:
    # when the mixed batch is counted
    invoke(mixed_batch["event"])

    # then every record with an answer and an expectation adds one value to each drift metric: the flag
    # rate's (MISMATCH and LOW_CONFIDENCE flag), P(expected) as written, predicted - expected as written
    reconciled = [
        item for item in world.items().values() if item["status"] in {"MATCH", "MISMATCH", "LOW_CONFIDENCE"}
    ]
    values = emitted_values(capsys.readouterr().out)
    assert sorted(values[inventory_schema.CounterMetric.FLAGGED]) == sorted(
        1.0 if item["status"] != "MATCH" else 0.0 for item in reconciled
    )
    assert sorted(values[inventory_schema.CounterMetric.EXPECTED_PROBABILITY]) == pytest.approx(
        sorted(float(item["expected_probability"]) for item in reconciled)
    )
    assert sorted(values[inventory_schema.CounterMetric.COUNT_DELTA]) == sorted(
        float(item["delta"]) for item in reconciled
    )


def emitted_values(output: str) -> dict[str, list[float]]:
    """Every value of every metric in the CloudWatch embedded-metric lines Powertools printed."""
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                name = definition["Name"]
                found.setdefault(name, []).extend(
                    blob[name] if isinstance(blob[name], list) else [blob[name]]
                )
    return found


def test_mixed_batch_items_carry_reasons_expectations_and_predictions(
    invoke: Any, world: CountingWorld, mixed_batch: dict[str, Any]
) -> None:
    keys = mixed_batch["keys"]

    invoke(mixed_batch["event"])

    items = world.items()
    good = items[keys["good"]]
    assert (good["bin_id"], good["predicted_count"], good["expected_quantity"], good["delta"]) == (
        "B-100",
        3,
        3,
        0,
    )
    assert good["expected_source"] == "object_metadata"
    assert good["confidence"] == Decimal("0.91")
    assert set(good["probabilities"]) == {"0", "1", "2", "3", "4", "5"}
    assert good["model_version"] == "countnet-resnet18-20261121T101500Z"
    assert good["image_version"] and good["captured_at"] == "2026-11-21T10:15:00.000000Z"
    assert "not a JPEG or PNG" in items[keys["not_an_image"]]["reason"]
    assert "empty" in items[keys["empty"]]["reason"]
    assert "limit" in items[keys["too_big"]]["reason"]
    assert (
        "(400)" in items[keys["rejected"]]["reason"]
        and "cannot be decoded" in items[keys["rejected"]]["reason"]
    )
    assert "deleted" in items[keys["gone"]]["reason"]
    # a malformed metadata JSON is reported, and the next source (object metadata) is used
    mismatch = items[keys["bad_metadata"]]
    assert mismatch["bin_id"] == "00042"
    assert (mismatch["expected_quantity"], mismatch["expected_source"], mismatch["delta"]) == (
        5,
        "object_metadata",
        2,
    )
    assert "metadata/00042.json is not valid JSON" in mismatch["reason"]
    assert items[keys["from_bin_state"]]["expected_source"] == "bin_state"
    assert "expected_quantity" not in items[keys["no_expectation"]]
    assert items[keys["unsure"]]["delta"] == 0  # the count agrees, but too unsurely to clear: LOW_CONFIDENCE


def test_invalid_uploads_never_reach_the_endpoint(
    invoke: Any, fake_endpoint: FakeEndpoint, mixed_batch: dict[str, Any]
) -> None:
    invoke(mixed_batch["event"])

    sent = [body for body, _ in fake_endpoint.calls]
    assert all(body[:3] == b"\xff\xd8\xff" or body.startswith(b"\x89PNG") for body in sent)
    assert not any(len(body) > MAX_IMAGE_BYTES for body in sent)
    # the PNG stored as binary/octet-stream is sent with the content type its bytes announce
    assert [ctype for body, ctype in fake_endpoint.calls if body.startswith(b"\x89PNG")] == ["image/png"]


def test_mismatch_and_low_confidence_are_announced_on_the_bus(
    invoke: Any, world: CountingWorld, mixed_batch: dict[str, Any]
) -> None:
    invoke(mixed_batch["event"])

    alerts = world.alerts()
    assert sorted((a["detail-type"], a["detail"]["record_key"]) for a in alerts) == sorted(
        [
            (
                inventory_schema.EVENT_DETAIL_TYPES[inventory_schema.Status.MISMATCH],
                mixed_batch["keys"]["bad_metadata"],
            ),
            (
                inventory_schema.EVENT_DETAIL_TYPES[inventory_schema.Status.LOW_CONFIDENCE],
                mixed_batch["keys"]["unsure"],
            ),
        ]
    )
    assert {a["source"] for a in alerts} == {inventory_schema.EVENT_SOURCE}
    assert alerts[0]["detail"]["bin_id"] in {"00042", "B-110"}


def test_bin_state_shows_the_latest_reconciliation(
    invoke: Any, world: CountingWorld, mixed_batch: dict[str, Any]
) -> None:
    invoke(mixed_batch["event"])

    states = world.bin_states()
    assert states["B-109"]["expected_quantity"] == 4  # loaded by the CLI, kept by the Lambda
    assert states["B-109"]["latest_status"] == "MATCH"
    assert states["B-109"]["latest_predicted_count"] == 4
    assert states["B-100"]["latest_record_key"] == mixed_batch["keys"]["good"]
    assert "B-106" not in states and "B-107" not in states  # failed records leave no state behind


def test_redelivery_leaves_table_state_and_events_unchanged(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, mixed_batch: dict[str, Any]
) -> None:
    # given the batch was processed once
    first = invoke(mixed_batch["event"])
    items, states, alerts = world.items(), world.bin_states(), world.alerts()
    endpoint_calls = len(fake_endpoint.calls)

    # when SQS delivers the very same batch again
    second = invoke(mixed_batch["event"])

    # then nothing changes, the same transient failures come back, and recorded images are not re-counted
    assert world.items() == items
    assert world.bin_states() == states
    assert world.alerts() == [] and len(alerts) == 2
    assert failed_ids(second) == failed_ids(first)
    retried = {"server_error", "not_ready", "throttled"}  # only the failed ones reach the endpoint again
    assert len(fake_endpoint.calls) - endpoint_calls == len(retried)


def test_a_failed_record_succeeds_on_retry(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults
) -> None:
    # given an image whose first write was throttled
    image = jpeg_bytes(7)
    version = world.put_image("incoming/B-7/x.jpg", image, expected_quantity="2")
    fake_endpoint.counts(image, 2, 0.9)
    faults.throttled_record_keys.add(record_key_of(version))
    event = world.sqs_event(
        s3_notification(version), s3_notification(world.put_image("incoming/B-8/y.jpg", b""))
    )
    assert failed_ids(invoke(event)) == {event["Records"][0]["messageId"]}

    # when throttling stops and SQS redelivers
    faults.throttled_record_keys.clear()
    response = invoke(event)

    # then it is recorded, once
    assert failed_ids(response) == set()
    assert world.items()[record_key_of(version)]["status"] == "MATCH"


def test_refused_event_fails_the_record_and_writes_nothing(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults
) -> None:
    image = jpeg_bytes(3)
    version = world.put_image("incoming/B-3/x.jpg", image, expected_quantity="9")
    fake_endpoint.counts(image, 4, 0.9)
    faults.refuse_events = True
    event = world.sqs_event(s3_notification(version), s3_test_event())

    response = invoke(event)

    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    assert world.items() == {}


def test_without_the_batch_read_each_record_looks_up_its_own_expectation(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults
) -> None:
    # given the batch read at the start of a batch fails
    faults.fail_batch_reads = True
    world.expect("B-4", 4)
    image = jpeg_bytes(4)
    fake_endpoint.counts(image, 4, 0.9)
    version = world.put_image("incoming/B-4/x.jpg", image)
    event = world.sqs_event(s3_notification(version), s3_notification(version))

    # when the batch (with a duplicate) is processed
    response = invoke(event)

    # then the expectation still comes from the bin state, and the duplicate is still stopped
    assert failed_ids(response) == set()
    (item,) = world.items().values()
    assert (item["status"], item["expected_source"]) == ("MATCH", "bin_state")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_a_batch_read_that_is_throttled_or_unavailable_falls_back_to_per_record_reads(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults, code: str, status: int
) -> None:
    # given the batch read fails with an error that passes with time
    faults.batch_read_error = (code, status)
    world.expect("B-4", 4)
    image = jpeg_bytes(4)
    fake_endpoint.counts(image, 4, 0.9)
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-4/x.jpg", image)))

    # when
    response = invoke(event)

    # then each record reads its own expectation
    assert failed_ids(response) == set()
    (item,) = world.items().values()
    assert (item["status"], item["expected_source"]) == ("MATCH", "bin_state")


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDeniedException", 400), ("ResourceNotFoundException", 400)]
)
def test_a_batch_read_the_role_or_configuration_refuses_fails_the_invocation_loudly(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults, code: str, status: int
) -> None:
    # given a batch read that no retry can fix (a missing permission, a wrong table name)
    faults.batch_read_error = (code, status)
    image = jpeg_bytes(4)
    fake_endpoint.counts(image, 4, 0.9)
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-4/x.jpg", image)))

    # when / then: the error reaches Lambda (an Errors alarm), instead of hiding behind per-record reads
    with pytest.raises(ClientError, match=code):
        invoke(event)
    assert world.items() == {}
    assert fake_endpoint.calls == []


def test_an_image_the_model_rejects_records_the_toolkits_message_alone(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint
) -> None:
    # given the real inference toolkit's 400 body: the message plus a Python traceback
    image = jpeg_bytes(31)
    message = "the body is not a readable JPEG or PNG image: cannot identify image file"
    fake_endpoint.model_error(image, 400, toolkit_error_body(message))
    version = world.put_image("incoming/B-31/x.jpg", image)

    # when
    response = invoke(world.sqs_event(s3_notification(version)))

    # then the record's reason is what a person reads in the inventory: the message, no traceback
    assert failed_ids(response) == set()
    item = world.items()[record_key_of(version)]
    assert (item["status"], item["reason"]) == ("INVALID_IMAGE", f"model rejected the image (400): {message}")


def test_an_object_overwritten_before_processing_is_recorded_as_missing(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint
) -> None:
    # given a notification without a version id (an unversioned bucket) whose object was overwritten since
    first = world.put_image("incoming/B-9/x.jpg", jpeg_bytes(9))
    world.put_image("incoming/B-9/x.jpg", jpeg_bytes(10))

    response = invoke(world.sqs_event(s3_notification(first, with_version_id=False)))

    assert failed_ids(response) == set()
    item = world.items()[f"{BUCKET}/incoming/B-9/x.jpg#{first.etag}"]
    assert (item["status"], item["reason"]) == (
        "OBJECT_MISSING",
        "object was overwritten before processing (its ETag changed)",
    )
    assert fake_endpoint.calls == []


def test_a_late_arrival_is_recorded_without_overwriting_newer_state(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint
) -> None:
    newer_image, older_image = jpeg_bytes(11), jpeg_bytes(12)
    fake_endpoint.counts(newer_image, 5, 0.9)
    fake_endpoint.counts(older_image, 3, 0.999)
    newer = world.put_image("incoming/B-5/newer.jpg", newer_image, expected_quantity="5")
    older = world.put_image("incoming/B-5/older.jpg", older_image, expected_quantity="5")

    invoke(world.sqs_event(s3_notification(newer, event_time="2026-11-21T12:00:00.000Z")))
    invoke(world.sqs_event(s3_notification(older, event_time="2026-11-21T11:00:00.000Z")))

    assert {item["status"] for item in world.items().values()} == {"MATCH", "MISMATCH"}
    state = world.bin_states()["B-5"]
    assert (state["latest_record_key"], state["latest_status"]) == (record_key_of(newer), "MATCH")


def test_moto_s3_notifications_without_version_id_are_keyed_by_etag(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint
) -> None:
    """The local pipeline's path: moto's own S3 -> SQS notifications (no versionId, a test event first)."""
    # given the bucket notifies the queue, as the storage stack configures it
    world.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": world.ingest_queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in inventory_schema.NOTIFIED_PREFIXES
            ]
        },
    )
    image = jpeg_bytes(21)
    fake_endpoint.counts(image, 1, 0.95)
    version = world.put_image("incoming/bin 7/first photo.jpg", image, expected_quantity="1")
    messages = world.sqs.receive_message(QueueUrl=world.ingest_queue_url, MaxNumberOfMessages=10)["Messages"]
    event = world.sqs_event(*(m["Body"] for m in messages))

    # when the handler processes what S3 sent
    response = invoke(event)

    # then the test event is acknowledged and the upload recorded under its (decoded) key and ETag
    assert failed_ids(response) == set()
    items = world.items()
    assert list(items) == [f"{BUCKET}/incoming/bin 7/first photo.jpg#{version.etag}"]
    assert items[f"{BUCKET}/incoming/bin 7/first photo.jpg#{version.etag}"]["bin_id"] == "bin 7"


def test_abid_image_uses_its_metadata_json(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, abid_dir: Any
) -> None:
    """A real ABID photo and its real metadata: the JSON's EXPECTED_QUANTITY wins over object metadata."""
    image_path = abid_dir / "images" / "00001.jpg"
    metadata_path = abid_dir / "metadata" / "00001.json"
    if not (image_path.is_file() and metadata_path.is_file()):
        pytest.skip(f"{image_path} or {metadata_path} is not in the ABID sample")
    image = image_path.read_bytes()
    expected = json.loads(metadata_path.read_text())["EXPECTED_QUANTITY"]
    fake_endpoint.counts(image, expected, 0.6)
    world.put_document("metadata/00001.json", metadata_path.read_bytes())
    version = world.put_image("bin-images/00001.jpg", image, expected_quantity="999")

    invoke(world.sqs_event(s3_notification(version)))

    item = world.items()[record_key_of(version)]
    assert (item["bin_id"], item["status"], item["expected_source"]) == ("00001", "MATCH", "metadata_json")
    assert item["expected_quantity"] == expected


def test_a_batch_where_every_record_fails_is_retried_whole(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint
) -> None:
    image = jpeg_bytes(5)
    fake_endpoint.model_error(image, 503, "overloaded")
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-1/x.jpg", image)))

    with pytest.raises(BatchProcessingError):
        invoke(event)
    assert world.items() == {}


def test_messages_not_reached_before_the_deadline_are_returned_for_redelivery(
    invoke: Any,
    world: CountingWorld,
    fake_endpoint: FakeEndpoint,
    lambda_context: Any,
    clock: Any,
    capsys: Any,
) -> None:
    # given a 120 s invocation of four messages, whose first two images take the endpoint 60 s and 47 s
    lambda_context.remaining_millis = 120_000
    images = [jpeg_bytes(seed) for seed in (41, 42, 43, 44)]
    for image, seconds in zip(images, (60, 47, 0, 0), strict=True):
        fake_endpoint.counts(image, 1, 0.9)
        answer = fake_endpoint.answers[image]
        fake_endpoint.answers[image] = lambda answer=answer, seconds=seconds: (
            clock.advance(seconds),
            answer(),
        )[1]
    versions = [world.put_image(f"incoming/B-4{n}/x.jpg", image) for n, image in enumerate(images)]
    event = world.sqs_event(*(s3_notification(version) for version in versions))

    # when
    response = invoke(event)

    # then the two it had no time left for go back to the queue as new messages, counted as deferred, so
    # waiting uses up none of their receives; the batch itself reports no failure
    assert failed_ids(response) == set()
    assert sorted(world.items()) == sorted(record_key_of(version) for version in versions[:2])
    assert [image for image, _ in fake_endpoint.calls] == images[:2]
    assert emitted_metrics(capsys.readouterr().out)[inventory_schema.CounterMetric.DEFERRED_MESSAGES] == 2
    sent_again = world.receive_all()
    assert sorted(message["Body"] for message in sent_again) == sorted(
        record["body"] for record in event["Records"][2:]
    )
    assert {
        message["MessageAttributes"]["binventory-deferrals"]["StringValue"] for message in sent_again
    } == {"1"}


def test_a_message_deferred_too_often_fails_so_it_reaches_the_dead_letter_queue_in_the_end(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, lambda_context: Any
) -> None:
    # given a message already deferred the most times, and no time left for it again
    lambda_context.remaining_millis = 12_000
    image = jpeg_bytes(46)
    fake_endpoint.counts(image, 1, 0.9)
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-46/x.jpg", image)))
    event["Records"][0]["messageAttributes"] = {
        "binventory-deferrals": {"stringValue": str(MAX_DEFERRALS), "dataType": "Number"}
    }

    # when / then: it fails (SQS counts the receive) and is not sent again
    with pytest.raises(BatchProcessingError):
        invoke(event)
    assert world.receive_all() == []


def test_an_invocation_with_no_time_left_returns_the_whole_batch_without_asking_the_endpoint(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, lambda_context: Any
) -> None:
    # given an invocation that starts with less time left than the safety margin and one record need
    lambda_context.remaining_millis = 12_000
    image = jpeg_bytes(44)
    fake_endpoint.counts(image, 1, 0.9)
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-44/x.jpg", image)))

    # when
    response = invoke(event)

    # then the message goes back to the queue for a later invocation; nothing was half done
    assert failed_ids(response) == set()
    assert fake_endpoint.calls == []
    assert world.items() == {}
    assert [message["Body"] for message in world.receive_all()] == [event["Records"][0]["body"]]


def test_a_photo_read_that_could_outlast_the_deadline_is_not_started(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, lambda_context: Any, capsys: Any
) -> None:
    # given 20 s left: 10 s before the deadline, enough to start a record but not an S3 attempt, which may
    # take its connect and read timeouts (12 s)
    lambda_context.remaining_millis = 20_000
    image = jpeg_bytes(45)
    fake_endpoint.counts(image, 1, 0.9)
    event = world.sqs_event(s3_notification(world.put_image("incoming/B-45/x.jpg", image)))

    # when / then: the message goes back to the queue, deferred; no endpoint call, nothing is written
    assert failed_ids(invoke(event)) == set()
    assert fake_endpoint.calls == [] and world.items() == {}
    assert emitted_metrics(capsys.readouterr().out)[inventory_schema.CounterMetric.DEFERRED_MESSAGES] == 1


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_missing_configuration_fails_with_the_variable_name(
    invoke: Any, world: CountingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LambdaEnv.ENDPOINT_NAME)

    with pytest.raises(ValueError, match=LambdaEnv.ENDPOINT_NAME):
        invoke(world.sqs_event(s3_test_event()))


def test_failed_records_log_one_line_each_and_the_traceback_once(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, capsys: Any, caplog: Any
) -> None:
    # given: an outage that fails three records the same way, alongside one that succeeds
    from lambdas.counter.handler import SEEN_ERRORS

    SEEN_ERRORS.__init__()  # a fresh execution environment
    failing = [jpeg_bytes(seed) for seed in (61, 62, 63)]
    for image in failing:
        fake_endpoint.model_error(image, 503, "overloaded")
    fine = jpeg_bytes(64)
    fake_endpoint.counts(fine, 2, 0.9)
    versions = [world.put_image(f"incoming/B-6{n}/x.jpg", image) for n, image in enumerate([*failing, fine])]
    capsys.readouterr()

    # when
    invoke(world.sqs_event(*(s3_notification(version) for version in versions)))

    # then: three one-line failures, each with its reason, and a single traceback in the whole log
    failures = [r for r in caplog.records if r.getMessage().startswith("message failed")]
    assert len(failures) == 3
    assert all("overloaded" in r.reason for r in failures)
    assert sum(bool(r.exc_info and r.exc_info[0]) for r in caplog.records) == 1
