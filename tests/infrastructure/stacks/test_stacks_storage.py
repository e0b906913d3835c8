"""The storage stack: private, encrypted, SSL-only buckets; tables exactly as the inventory schema says."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions
from stacks_testkit import SynthesizedApp, resources

from contracts import inventory_schema, stack_outputs


def _buckets(app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    return resources(app.template("storage"), "AWS::S3::Bucket")


def _logical_id(app: SynthesizedApp, construct_id: str) -> str:
    matches = [key for key in _buckets(app) if key.startswith(f"Buckets{construct_id}")]
    assert len(matches) == 1, matches
    return matches[0]


def test_every_bucket_is_private_and_encrypted(dev_app: SynthesizedApp) -> None:
    buckets = _buckets(dev_app)

    assert len(buckets) == 4
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_every_bucket_refuses_requests_without_tls(dev_app: SynthesizedApp) -> None:
    policies = resources(dev_app.template("storage"), "AWS::S3::BucketPolicy").values()
    protected = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                protected.add(policy["Properties"]["Bucket"]["Ref"])

    assert protected == set(_buckets(dev_app))


@pytest.mark.parametrize("construct_id", ["Ingest", "Dataset", "Artifacts"])
def test_data_buckets_are_versioned_logged_and_expire_old_versions(
    dev_app: SynthesizedApp, construct_id: str
) -> None:
    settings = dev_app.settings.storage
    properties = _buckets(dev_app)[_logical_id(dev_app, construct_id)]["Properties"]

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": _logical_id(dev_app, "AccessLogs")
    }
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": settings.noncurrent_version_expiration_days
    }
    assert rule["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": settings.incomplete_upload_expiration_days
    }


def test_access_logs_expire(dev_app: SynthesizedApp) -> None:
    properties = _buckets(dev_app)[_logical_id(dev_app, "AccessLogs")]["Properties"]

    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == dev_app.settings.storage.access_log_expiration_days


def _table(app: SynthesizedApp, construct_id: str) -> dict[str, Any]:
    (table,) = [
        table
        for key, table in resources(app.template("storage"), "AWS::DynamoDB::Table").items()
        if key.startswith(f"Tables{construct_id}")
    ]
    return table


def _sorted(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item[key])


@pytest.mark.parametrize(
    ("construct_id", "definition"),
    [
        ("Inventory", inventory_schema.inventory_table_definition()),
        ("BinState", inventory_schema.bin_state_table_definition()),
    ],
)
def test_deployed_tables_have_exactly_the_schema_keys_and_indexes(
    dev_app: SynthesizedApp, construct_id: str, definition: dict[str, Any]
) -> None:
    properties = _table(dev_app, construct_id)["Properties"]

    assert properties["KeySchema"] == definition["KeySchema"]
    assert _sorted(properties["AttributeDefinitions"], "AttributeName") == _sorted(
        definition["AttributeDefinitions"], "AttributeName"
    )
    assert _sorted(properties.get("LocalSecondaryIndexes", []), "IndexName") == _sorted(
        definition.get("LocalSecondaryIndexes", []), "IndexName"
    )
    assert _sorted(properties.get("GlobalSecondaryIndexes", []), "IndexName") == _sorted(
        definition.get("GlobalSecondaryIndexes", []), "IndexName"
    )
    assert properties["BillingMode"] == definition["BillingMode"]


@pytest.mark.parametrize("construct_id", ["Inventory", "BinState"])
def test_tables_are_encrypted_and_recoverable(dev_app: SynthesizedApp, construct_id: str) -> None:
    properties = _table(dev_app, construct_id)["Properties"]

    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_dev_data_goes_away_with_the_stack(dev_app: SynthesizedApp) -> None:
    storage = dev_app.assertions("storage")

    for table in resources(dev_app.template("storage"), "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"]["DeletionProtectionEnabled"] is False
    # Buckets of a destroyed stage are emptied first, or CloudFormation could not delete them.
    storage.resource_count_is("Custom::S3AutoDeleteObjects", 4)


def test_prod_data_is_retained_and_protected(prod_app: SynthesizedApp) -> None:
    template = prod_app.template("storage")

    for table in resources(template, "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    for bucket in resources(template, "AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"
    prod_app.assertions("storage").resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_storage_outputs_carry_the_names_the_cli_reads(dev_app: SynthesizedApp) -> None:
    template_outputs = dev_app.template("storage")["Outputs"]

    for output_id in (
        stack_outputs.INGEST_BUCKET_NAME,
        stack_outputs.DATASET_BUCKET_NAME,
        stack_outputs.ARTIFACTS_BUCKET_NAME,
        stack_outputs.INVENTORY_TABLE_NAME,
        stack_outputs.BIN_STATE_TABLE_NAME,
    ):
        assert "Ref" in template_outputs[output_id]["Value"], output_id
    dev_app.assertions("storage").has_output(
        stack_outputs.INVENTORY_TABLE_NAME,
        {"Value": {"Ref": assertions.Match.string_like_regexp("^TablesInventory")}},
    )
