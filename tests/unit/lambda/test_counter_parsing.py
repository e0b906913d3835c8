"""Key layout, S3 notifications, image checks and configuration: the small rules the handler relies on."""

from __future__ import annotations

import json

import pytest
from counter_world import StoredVersion, jpeg_bytes, png_bytes, s3_notification, s3_test_event

from contracts.counter_environment import LambdaEnv
from contracts.decision import DecisionCosts
from contracts.inventory_schema import UnroutableKey, abid_metadata_key, bin_id_for_key, record_key
from lambdas.counter.configuration import DEFAULT_MAX_IMAGE_BYTES, ConfigurationError, load_configuration
from lambdas.counter.logic.image_check import endpoint_content_type, format_problem, size_problem
from lambdas.counter.logic.notifications import MalformedMessage, parse_notification


@pytest.mark.parametrize(
    ("key", "bin_id"),
    [
        ("incoming/B-17/2026-11-21T10:00.jpg", "B-17"),
        ("incoming/B-17/cam2/shot.jpg", "B-17"),
        ("bin-images/01013.jpg", "01013"),  # image ids are strings: 01013 is not 1013
        ("bin-images/1013.jpg", "1013"),
        ("bin-images/523.png", "523"),
    ],
)
def test_bin_id_follows_the_key_layout(key: str, bin_id: str) -> None:
    assert bin_id_for_key(key) == bin_id


@pytest.mark.parametrize(
    "key", ["incoming/loose.jpg", "incoming//x.jpg", "metadata/1.json", "bin-images/a/b.jpg"]
)
def test_keys_outside_the_layout_name_no_bin(key: str) -> None:
    with pytest.raises(UnroutableKey, match="incoming/<bin_id>/<image file>"):
        bin_id_for_key(key)


def test_abid_metadata_sits_beside_abid_images_only() -> None:
    assert abid_metadata_key("bin-images/00042.jpg") == "metadata/00042.json"
    assert abid_metadata_key("incoming/B-1/00042.jpg") is None
    assert record_key("bkt", "bin-images/1.jpg", "v1") == "bkt/bin-images/1.jpg#v1"


def test_an_upload_notification_yields_its_decoded_key_and_version() -> None:
    body = s3_notification(
        StoredVersion("incoming/bin 7/a+b.jpg", "v-123", "abc", 10), event_time="2026-11-21T10:15:00Z"
    )

    (upload,) = parse_notification(body).uploads

    assert (upload.key, upload.version, upload.etag) == ("incoming/bin 7/a+b.jpg", "v-123", "abc")
    assert upload.event_time == "2026-11-21T10:15:00.000000Z"


def test_the_etag_identifies_versions_of_unversioned_buckets() -> None:
    body = s3_notification(StoredVersion("incoming/B/a.jpg", "", "abc", 10), with_version_id=False)

    (upload,) = parse_notification(body).uploads

    assert (upload.version_id, upload.version) == (None, "abc")


def test_the_s3_test_event_holds_no_uploads() -> None:
    assert parse_notification(s3_test_event()).is_test_event


def test_other_s3_events_are_ignored_by_name() -> None:
    document = json.loads(s3_notification(StoredVersion("incoming/B/a.jpg", "v", "e", 1)))
    document["Records"][0]["eventName"] = "ObjectRemoved:Delete"

    notification = parse_notification(json.dumps(document))

    assert (notification.uploads, notification.ignored_events) == ((), ("ObjectRemoved:Delete",))


@pytest.mark.parametrize("body", ["", "hello", "[]", "{}", '{"Records": [{"eventSource": "aws:sqs"}]}'])
def test_bodies_that_are_no_s3_notification_are_malformed(body: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_notification(body)


def test_size_and_signature_checks() -> None:
    assert size_problem(0, 100) == "empty object (0 bytes)"
    assert "over the 100-byte limit" in size_problem(101, 100)
    assert size_problem(100, 100) is None
    assert format_problem(jpeg_bytes(1)) is None
    assert format_problem(png_bytes(1)) is None
    assert "not a JPEG or PNG" in format_problem(b"GIF89a....")


def test_the_content_type_sent_is_one_the_endpoint_accepts() -> None:
    assert endpoint_content_type("image/jpeg", jpeg_bytes(1)) == "image/jpeg"
    assert endpoint_content_type("binary/octet-stream", png_bytes(1)) == "image/png"
    assert endpoint_content_type(None, jpeg_bytes(1)) == "image/jpeg"
    assert endpoint_content_type("IMAGE/PNG; charset=binary", png_bytes(1)) == "image/png"


REQUIRED = {
    LambdaEnv.INVENTORY_TABLE: "inv",
    LambdaEnv.BIN_STATE_TABLE: "state",
    LambdaEnv.ENDPOINT_NAME: "ep",
    LambdaEnv.EVENT_BUS_NAME: "bus",
    LambdaEnv.WRONG_RECORD_RATE: "0.02",
    LambdaEnv.LOOK_COST: "0.3",
    LambdaEnv.MISSED_ERROR_COST: "22",
}


def test_settings_have_defaults_for_the_optional_variables() -> None:
    configuration = load_configuration(REQUIRED)

    assert configuration.max_image_bytes == DEFAULT_MAX_IMAGE_BYTES
    assert configuration.decision == DecisionCosts(0.02, 0.3, 22.0)


def test_every_bad_variable_is_named_at_once() -> None:
    environ = {
        **REQUIRED,
        LambdaEnv.ENDPOINT_NAME: " ",
        LambdaEnv.WRONG_RECORD_RATE: "2%",
        LambdaEnv.LOOK_COST: "-1",
        LambdaEnv.MAX_IMAGE_BYTES: "-5",
    }
    del environ[LambdaEnv.MISSED_ERROR_COST]

    with pytest.raises(ConfigurationError) as error:
        load_configuration(environ)

    message = str(error.value)
    assert "ENDPOINT_NAME is not set" in message
    assert "WRONG_RECORD_RATE='2%' is not a number between 0 and 1" in message
    assert "LOOK_COST='-1' is not a number above 0" in message
    assert "MISSED_ERROR_COST is not set" in message
    assert "MAX_IMAGE_BYTES='-5' is not a positive whole number" in message
