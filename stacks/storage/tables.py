"""The inventory and bin state tables, built from the key definitions in `contracts/inventory_schema.py`.

The local pipeline creates the same tables in moto from the same functions, so the deployed keys
and indexes cannot drift from the ones the Lambda and the CLI are tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from contracts import inventory_schema
from contracts.deployment_settings import StorageSettings
from stacks import checkov

# Exactly what the counting Lambda's repository (lambdas/counter/dal/inventory.py) calls; the Lambda's
# tests hold every call it makes against the synthesized role. IAM authorizes TransactWriteItems per
# item: its Put of the record is a PutItem on the inventory table, its Update of the bin's latest state
# an UpdateItem on the bin state table.
# Inventory: the conditional put of one record per image (in the transaction, or alone when the bin state
# is newer); one BatchGetItem per SQS batch tells the records already made.
INVENTORY_RECORDING_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:PutItem")
# Bin state: the expected quantity (in the batch read, else one GetItem), and the latest state written back.
BIN_STATE_RECORDING_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem")

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


class InventoryTablesConstruct(Construct):
    """One item per processed image (inventory) and one per bin (expected quantity, latest state)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StorageSettings) -> None:
        super().__init__(scope, construct_id)
        self.inventory = table_from_definition(
            self, "Inventory", inventory_schema.inventory_table_definition(), settings=settings
        )
        self.bin_state = table_from_definition(
            self, "BinState", inventory_schema.bin_state_table_definition(), settings=settings
        )

    def grant_reviewing(self, grantee: iam.IGrantable) -> None:
        """Read the review queue and resolve flags: the inventory with its indexes, the bin state table."""
        self.inventory.grant(grantee, *INVENTORY_REVIEWING_ACTIONS)
        self.bin_state.grant(grantee, *BIN_STATE_REVIEWING_ACTIONS)

    def grant_recording(self, grantee: iam.IGrantable) -> None:
        """Record counted images as the counting Lambda does: its item reads and writes, on the tables only
        (`Table.grant` would add the indexes, which these item calls never touch)."""
        for table, actions in (
            (self.inventory, INVENTORY_RECORDING_ACTIONS),
            (self.bin_state, BIN_STATE_RECORDING_ACTIONS),
        ):
            iam.Grant.add_to_principal(
                grantee=grantee, actions=list(actions), resource_arns=[table.table_arn]
            )


# The review (its Lambda and `binventory review`): the queue and the week's resolutions are Queries on the
# inventory table's indexes, a record is read after a refused resolution, and a resolution updates the record
# and, for a correction, the bin's expected quantity (one TransactWriteItems: UpdateItem per item).
INVENTORY_REVIEWING_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem")
BIN_STATE_REVIEWING_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


def table_from_definition(
    scope: Construct, construct_id: str, definition: Mapping[str, Any], *, settings: StorageSettings
) -> dynamodb.Table:
    """A table whose keys, indexes and billing mode are exactly `definition` (`create_table` form)."""
    types = {item["AttributeName"]: item["AttributeType"] for item in definition["AttributeDefinitions"]}

    def key(key_schema: list[Mapping[str, str]], key_type: str) -> dynamodb.Attribute | None:
        for element in key_schema:
            if element["KeyType"] == key_type:
                name = element["AttributeName"]
                return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])
        return None

    def projection(index: Mapping[str, Any]) -> dict[str, Any]:
        spec = index["Projection"]
        return {
            "projection_type": dynamodb.ProjectionType(spec["ProjectionType"]),
            "non_key_attributes": spec.get("NonKeyAttributes"),
        }

    partition_key = key(definition["KeySchema"], "HASH")
    if partition_key is None:
        raise ValueError(f"table definition for {construct_id} has no HASH key")
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=partition_key,
        sort_key=key(definition["KeySchema"], "RANGE"),
        billing_mode=dynamodb.BillingMode(definition["BillingMode"]),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=settings.deletion_protection,
        removal_policy=cdk.RemovalPolicy.RETAIN if settings.retain else cdk.RemovalPolicy.DESTROY,
    )
    checkov.skip(
        table,
        "CKV_AWS_119",
        "Encrypted with the AWS managed KMS key (aws/dynamodb). A customer managed key would need grants for "
        "the Lambda, the CLI and the backfill, for items that hold counts and S3 keys and no personal data.",
    )
    for index in definition.get("LocalSecondaryIndexes", []):
        sort_key = key(index["KeySchema"], "RANGE")
        assert sort_key is not None, "a local secondary index always has a sort key"
        table.add_local_secondary_index(index_name=index["IndexName"], sort_key=sort_key, **projection(index))
    for index in definition.get("GlobalSecondaryIndexes", []):
        index_partition_key = key(index["KeySchema"], "HASH")
        assert index_partition_key is not None, "a global secondary index always has a partition key"
        table.add_global_secondary_index(
            index_name=index["IndexName"],
            partition_key=index_partition_key,
            sort_key=key(index["KeySchema"], "RANGE"),
            **projection(index),
        )
    return table
