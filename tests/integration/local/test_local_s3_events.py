"""The local ingest bucket's events name their object version, as AWS's do, so each upload is one record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from binventory.local.emulator import AwsEmulator
from binventory.local.provision import LocalResources, provision
from contracts.deployment_settings import load_settings_from_cdk_json


@pytest.fixture
def ingest(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, LocalResources]]:
    emulator = AwsEmulator().start()
    try:
        for key, value in emulator.environment().items():
            monkeypatch.setenv(key, value)
        import boto3

        session = boto3.session.Session(region_name="us-east-1")
        resources = provision(session, load_settings_from_cdk_json())
        yield session.client("s3"), session.client("sqs"), resources
    finally:
        emulator.stop()


def uploaded_versions(sqs: Any, queue_url: str) -> list[str | None]:
    """The versionId of every upload event on the queue (the S3 test event skipped)."""
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            body = json.loads(message["Body"])
            found += [record["s3"]["object"].get("versionId") for record in body.get("Records", [])]
    return found


def test_every_upload_event_names_the_version_s3_stored(ingest) -> None:
    # given: one key overwritten, then the same bytes uploaded again (a new expectation in its metadata)
    s3, sqs, resources = ingest
    bucket, key = resources.ingest_bucket, "incoming/bin-7/photo.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=b"first", Metadata={"expected-quantity": "1"})
    s3.put_object(Bucket=bucket, Key=key, Body=b"second", Metadata={"expected-quantity": "2"})
    s3.put_object(Bucket=bucket, Key=key, Body=b"second", Metadata={"expected-quantity": "3"})

    # when: the queue is read
    versions = uploaded_versions(sqs, resources.queue_url)

    # then: three events, each naming its own version, the versions S3 keeps for the key
    stored = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 3 and None not in versions
    assert sorted(versions) == sorted(version["VersionId"] for version in stored)


def test_moto_is_left_as_it_was_once_the_emulator_stops() -> None:
    # other moto users in this process (the counting Lambda's tests) see moto's own events afterwards
    from moto.s3 import notifications

    before = notifications._get_s3_event
    emulator = AwsEmulator().start()
    during = notifications._get_s3_event
    emulator.stop()

    assert during is not before
    assert notifications._get_s3_event is before
