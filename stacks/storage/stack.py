"""The storage stack: buckets and tables, and the outputs the CLI reads their names from."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from contracts import stack_outputs
from contracts.deployment_settings import Settings
from stacks.storage.buckets import StorageBuckets
from stacks.storage.tables import InventoryTablesConstruct


class StorageStack(cdk.Stack):
    """Everything that holds data; the other stacks reference it."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, env: cdk.Environment
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description="Binventory storage: image, dataset and model buckets; tables",
        )
        self.buckets = StorageBuckets(self, "Buckets", settings=settings.storage)
        self.tables = InventoryTablesConstruct(self, "Tables", settings=settings.storage)

        for output_id, value in (
            (stack_outputs.INGEST_BUCKET_NAME, self.buckets.ingest.bucket_name),
            (stack_outputs.DATASET_BUCKET_NAME, self.buckets.dataset.bucket_name),
            (stack_outputs.ARTIFACTS_BUCKET_NAME, self.buckets.artifacts.bucket_name),
            (stack_outputs.INVENTORY_TABLE_NAME, self.tables.inventory.table_name),
            (stack_outputs.BIN_STATE_TABLE_NAME, self.tables.bin_state.table_name),
        ):
            cdk.CfnOutput(self, output_id, value=value)
