"""The operator's reads and writes on the inventory and bin state tables, with errors a person can act on."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import click
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from binventory.aws_errors import NO_CREDENTIALS_MESSAGE
from binventory.inventory.expected_csv import ExpectedRow
from binventory.resources import StackResources, env_var_for
from contracts import inventory_schema, stack_outputs

LOAD_THREADS = 16
_DESERIALIZER = TypeDeserializer()


class OperatorInventory:
    """The operator's reads and writes on one stage's two tables (names from its outputs or BINVENTORY_*)."""

    def __init__(self, resources: StackResources) -> None:
        self.resources = resources
        self.inventory_table = resources.inventory_table
        self.bin_state_table = resources.bin_state_table
        self.dynamodb = resources.client("dynamodb")

    def load_expected(self, rows: list[ExpectedRow], loaded_at: str) -> int:
        """Set each bin's expected quantity (keeping its latest reconciliation); returns how many.

        The warehouse's figure replaces a reviewer's correction, so the bin's `expected_source` is removed.
        """
        state = inventory_schema.BinStateAttr

        def update(row: ExpectedRow) -> None:
            self.dynamodb.update_item(
                TableName=self.bin_state_table,
                Key={inventory_schema.BIN_STATE_PARTITION_KEY: {"S": row.bin_id}},
                UpdateExpression=f"SET {state.EXPECTED_QUANTITY} = :quantity, "
                f"{state.EXPECTED_UPDATED_AT} = :at REMOVE {state.EXPECTED_SOURCE}",
                ExpressionAttributeValues={
                    ":quantity": {"N": str(row.expected_quantity)},
                    ":at": {"S": loaded_at},
                },
            )

        with self._translated_errors(self.bin_state_table), ThreadPoolExecutor(LOAD_THREADS) as pool:
            return sum(1 for _ in pool.map(update, rows))

    def bins(self) -> list[dict[str, Any]]:
        """Every bin's state, sorted by bin id."""
        with self._translated_errors(self.bin_state_table):
            items = list(self._pages("scan", TableName=self.bin_state_table))
        return sorted(items, key=lambda item: item[inventory_schema.BIN_STATE_PARTITION_KEY])

    def bin_state(self, bin_id: str) -> dict[str, Any] | None:
        with self._translated_errors(self.bin_state_table):
            response = self.dynamodb.get_item(
                TableName=self.bin_state_table, Key={inventory_schema.BIN_STATE_PARTITION_KEY: {"S": bin_id}}
            )
        return plain(response["Item"]) if "Item" in response else None

    def records_with_status(
        self, statuses: Iterable[inventory_schema.Status], since: str | None
    ) -> list[dict[str, Any]]:
        """Records of these statuses captured at or after `since`, newest first (the by-status index)."""
        condition = "#status = :status" + (" AND captured_at >= :since" if since else "")
        found: list[dict[str, Any]] = []
        with self._translated_errors(self.inventory_table):
            for status in statuses:
                values = {":status": {"S": status.value}} | ({":since": {"S": since}} if since else {})
                found += self._pages(
                    "query",
                    TableName=self.inventory_table,
                    IndexName=inventory_schema.BY_STATUS_INDEX,
                    KeyConditionExpression=condition,
                    ExpressionAttributeNames={"#status": inventory_schema.STATUS},
                    ExpressionAttributeValues=values,
                    ScanIndexForward=False,
                )
        return sorted(found, key=lambda item: item[inventory_schema.CAPTURED_AT], reverse=True)

    def history(self, bin_id: str, limit: int | None) -> list[dict[str, Any]]:
        """A bin's records, newest capture first (the by-captured-at index)."""
        request: dict[str, Any] = {
            "TableName": self.inventory_table,
            "IndexName": inventory_schema.BY_CAPTURE_TIME_INDEX,
            "KeyConditionExpression": f"{inventory_schema.INVENTORY_PARTITION_KEY} = :bin",
            "ExpressionAttributeValues": {":bin": {"S": bin_id}},
            "ScanIndexForward": False,
        }
        with self._translated_errors(self.inventory_table):
            return list(itertools.islice(self._pages("query", **request), limit))

    def all_records(self) -> Iterator[dict[str, Any]]:
        """Every inventory record, page by page."""
        with self._translated_errors(self.inventory_table):
            yield from self._pages("scan", TableName=self.inventory_table)

    def _pages(self, operation: str, **request: Any) -> Iterator[dict[str, Any]]:
        for page in self.dynamodb.get_paginator(operation).paginate(**request):
            yield from (plain(item) for item in page.get("Items", []))

    @contextlib.contextmanager
    def _translated_errors(self, table: str) -> Iterator[None]:
        """Turn the AWS errors an operator can cause into messages that say what to do."""
        region = self.dynamodb.meta.region_name
        try:
            yield
        except NoCredentialsError as error:
            raise click.ClickException(NO_CREDENTIALS_MESSAGE) from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            if code == "ResourceNotFoundException":
                output_id = (
                    stack_outputs.INVENTORY_TABLE_NAME
                    if table == self.inventory_table
                    else stack_outputs.BIN_STATE_TABLE_NAME
                )
                override = env_var_for(output_id)
                raise click.ClickException(
                    f"Table {table} not found in region {region}: deploy the storage stack "
                    f"(`npx cdk deploy {self.resources.stack_name('storage')}`), pass the right --stage / "
                    f"--region, or fix {override}."
                ) from error
            raise click.ClickException(
                f"DynamoDB refused the request on {table}: {code}: {message}"
            ) from error
        except BotoCoreError as error:
            raise click.ClickException(f"Could not reach DynamoDB in region {region}: {error}") from error


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as Python values: integral numbers as int, others as float."""
    return {name: _plain_number(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_number(v) for v in value]
    return value
